"""What the create wizard offers to install, and where: a VM template (by name), an ISO image or
a CT template (by volume id) once each, with the regions (clusters) that have it for the plan.
The same template or file on several clusters is one choice; the region step picks the cluster."""

from dataclasses import dataclass, field

from apps.clusters.models import Cluster
from apps.guests import selectors
from apps.guests.models import Image
from apps.tenancy.models import Plan


@dataclass
class Source:
    value: str  # "template:<name>", "iso:<volid>" or "ostemplate:<volid>"
    label: str
    kind: str  # "template", "iso" or "ostemplate"
    # Region (cluster name) -> the cluster and what to install there: a template's VMID as
    # text, or the image's volume id.
    regions: dict[str, tuple[Cluster, str]] = field(default_factory=dict)

    def add(self, cluster: Cluster, install: str) -> None:
        self.regions.setdefault(cluster.name, (cluster, install))


def wizard_sources(plan: Plan) -> list[Source]:
    """What `plan` offers, VM templates first, each with its regions in name order."""
    sources: dict[str, Source] = {}
    templates = selectors.template_list(plan=plan).order_by("cluster__name", "vmid")
    for template in templates:
        name = template.name or str(template.vmid)
        value = f"template:{name}"
        sources.setdefault(value, Source(value, name, "template")).add(
            template.cluster, str(template.vmid)
        )
    images = selectors.image_list(plan=plan).order_by("content", "cluster__name", "volid")
    for image in images:
        kind = "iso" if image.content == Image.Content.ISO else "ostemplate"
        value = f"{kind}:{image.volid}"
        sources.setdefault(value, Source(value, image.file_name, kind)).add(
            image.cluster, image.volid
        )
    return list(sources.values())
