"""Back-office pages for clusters, nodes and storages."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from apps.audit.admin import AuditedModelAdmin
from apps.audit.services import Actor
from apps.clusters.models import Cluster, Node, Storage
from apps.clusters.services import (
    cluster_register,
    connection_test,
    endpoint_of,
    fingerprint_clean,
    inventory_sync,
    node_maintenance_set,
)
from apps.proxmox.client import ClusterEndpoint
from apps.proxmox.errors import ProxmoxError


class ClusterAddForm(forms.ModelForm):
    """Registration goes through `cluster_register`, which tests the connection before saving."""

    token_secret = forms.CharField(widget=forms.PasswordInput)
    api_addresses = forms.CharField(
        help_text=_("host or host:port, one per line; tried in order."), widget=forms.Textarea
    )

    class Meta:
        model = Cluster
        fields = [
            "name",
            "api_addresses",
            "token_id",
            "token_secret",
            "fingerprint",
            "ca_bundle",
            "vmid_range_start",
            "vmid_range_end",
        ]

    def clean_api_addresses(self) -> list[str]:
        return self.cleaned_data["api_addresses"].split()

    def clean(self) -> dict[str, object]:
        """Test the connection now, so a failure is a form error and nothing is saved."""
        data = super().clean()
        if self.errors:
            return data
        try:
            connection_test(
                endpoint=ClusterEndpoint(
                    addresses=tuple(data["api_addresses"]),
                    token_id=data["token_id"],
                    token_secret=data["token_secret"],
                    fingerprint=data["fingerprint"],
                    ca_bundle=data["ca_bundle"],
                )
            )
        except ValueError as error:
            raise ValidationError(str(error)) from error
        except ProxmoxError as error:
            raise ValidationError(f"connection test failed: {error.message}") from error
        return data

    def register(self, *, actor: Actor) -> Cluster:
        data = self.cleaned_data
        return cluster_register(
            name=data["name"],
            api_addresses=data["api_addresses"],
            token_id=data["token_id"],
            token_secret=data["token_secret"],
            fingerprint=data["fingerprint"],
            ca_bundle=data["ca_bundle"],
            vmid_range_start=data["vmid_range_start"],
            vmid_range_end=data["vmid_range_end"],
            actor=actor,
        )


class ClusterChangeForm(forms.ModelForm):
    """Addresses, certificate pinning and the VMID range of a registered cluster; the change is
    saved only if the cluster still answers with its token through them."""

    class Meta:
        model = Cluster
        fields = ["name", "api_addresses", "fingerprint", "ca_bundle"]

    def clean_fingerprint(self) -> str:
        try:
            return fingerprint_clean(self.cleaned_data["fingerprint"])
        except ValidationError as error:
            raise ValidationError(error.message_dict["fingerprint"]) from error

    def clean(self) -> dict[str, object]:
        data = super().clean()
        if self.errors:
            return data
        try:
            connection_test(
                endpoint=ClusterEndpoint(
                    addresses=tuple(data["api_addresses"]),
                    token_id=self.instance.token_id,
                    token_secret=self.instance.token_secret,
                    fingerprint=data["fingerprint"],
                    ca_bundle=data["ca_bundle"],
                )
            )
        except ValueError as error:
            raise ValidationError(str(error)) from error
        except ProxmoxError as error:
            raise ValidationError(f"connection test failed: {error.message}") from error
        return data


class NodeInline(admin.TabularInline):
    model = Node
    fields = ["name", "online", "maintenance", "cpu_count", "memory_total", "vanished_at"]
    readonly_fields = ["name", "online", "maintenance", "cpu_count", "memory_total", "vanished_at"]
    extra = 0
    can_delete = False


@admin.register(Cluster)
class ClusterAdmin(AuditedModelAdmin):
    list_display = ["name", "pve_cluster_name", "pve_version", "last_synced_at", "last_error"]
    search_fields = ["name", "pve_cluster_name"]
    readonly_fields = [
        "token_id",
        "pve_cluster_name",
        "pve_version",
        "last_synced_at",
        "last_error",
        "created_at",
    ]
    fields = [
        "name",
        "api_addresses",
        "token_id",
        "fingerprint",
        "ca_bundle",
        "vmid_range_start",
        "vmid_range_end",
        "pve_cluster_name",
        "pve_version",
        "last_synced_at",
        "last_error",
        "created_at",
    ]
    inlines = [NodeInline]
    actions = ["test_connection", "sync_now"]

    def get_form(self, request: HttpRequest, obj: Cluster | None = None, **kwargs: object):
        kwargs["form"] = ClusterAddForm if obj is None else ClusterChangeForm
        return super().get_form(request, obj, **kwargs)

    def save_model(
        self, request: HttpRequest, obj: Cluster, form: forms.Form, change: bool
    ) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        registered = form.register(actor=Actor.user(request.user))
        obj.pk = registered.pk
        inventory_sync(cluster=registered)

    def get_fields(self, request: HttpRequest, obj: Cluster | None = None) -> list[str]:
        return self.fields if obj is not None else ClusterAddForm.Meta.fields

    def get_readonly_fields(self, request: HttpRequest, obj: Cluster | None = None) -> list[str]:
        return self.readonly_fields if obj is not None else []

    def get_inlines(self, request: HttpRequest, obj: Cluster | None) -> list:
        return self.inlines if obj is not None else []

    @admin.action(description=_("Test connection"))
    def test_connection(self, request: HttpRequest, queryset: QuerySet[Cluster]) -> None:
        for cluster in queryset:
            try:
                report = connection_test(endpoint=endpoint_of(cluster))
            except ProxmoxError as error:
                self.message_user(request, f"{cluster.name}: {error.message}", messages.ERROR)
            else:
                self.message_user(
                    request, f"{cluster.name}: PVE {report.pve_version}, {report.node_count} nodes"
                )

    @admin.action(description=_("Sync nodes and storages now"))
    def sync_now(self, request: HttpRequest, queryset: QuerySet[Cluster]) -> None:
        for cluster in queryset:
            try:
                report = inventory_sync(cluster=cluster)
            except ProxmoxError as error:
                self.message_user(request, f"{cluster.name}: {error.message}", messages.ERROR)
            else:
                self.message_user(
                    request, f"{cluster.name}: synced, {len(report.nodes_vanished)} nodes vanished"
                )


@admin.register(Node)
class NodeAdmin(AuditedModelAdmin):
    list_display = ["name", "cluster", "online", "maintenance", "cpu_count", "memory_total"]
    list_filter = ["cluster", "online", "maintenance"]
    # Maintenance changes through the actions, which audit it as such.
    readonly_fields = [
        "cluster",
        "name",
        "online",
        "maintenance",
        "cpu_usage",
        "cpu_count",
        "memory_used",
        "memory_total",
        "vanished_at",
    ]
    actions = ["enter_maintenance", "leave_maintenance"]

    @admin.action(description=_("Enter maintenance (placement skips the node)"))
    def enter_maintenance(self, request: HttpRequest, queryset: QuerySet[Node]) -> None:
        self._maintenance_set(request, queryset, maintenance=True)

    @admin.action(description=_("Leave maintenance"))
    def leave_maintenance(self, request: HttpRequest, queryset: QuerySet[Node]) -> None:
        self._maintenance_set(request, queryset, maintenance=False)

    def _maintenance_set(
        self, request: HttpRequest, queryset: QuerySet[Node], *, maintenance: bool
    ) -> None:
        changed = []
        for node in queryset.select_related("cluster"):
            try:
                node_maintenance_set(node=node, maintenance=maintenance, actor=request.user)
            except PermissionDenied as error:
                self.message_user(request, f"{node}: {error}", messages.ERROR)
            else:
                changed.append(str(node))
        if changed:
            state = _("in maintenance") if maintenance else _("out of maintenance")
            self.message_user(request, f"{', '.join(changed)}: {state}")


@admin.register(Storage)
class StorageAdmin(admin.ModelAdmin):
    list_display = ["storage", "node", "type", "shared", "available", "used", "total"]
    list_filter = ["cluster", "type", "shared", "available"]
    search_fields = ["storage"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Storage | None = None) -> bool:
        return False
