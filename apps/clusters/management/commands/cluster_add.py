from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.clusters.services import cluster_register, inventory_sync


class Command(BaseCommand):
    help = "Register a Proxmox VE cluster: tests the connection, then syncs nodes and storages."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="The portal's name for the cluster (a slug).")
        parser.add_argument(
            "--address",
            action="append",
            required=True,
            dest="addresses",
            help="host or host:port of a node's API; repeat for failover.",
        )
        parser.add_argument("--token-id", required=True, help="user@realm!name")
        parser.add_argument("--token-secret", required=True)
        tls = parser.add_mutually_exclusive_group(required=True)
        tls.add_argument("--fingerprint", default="", help="SHA-256 of the API certificate.")
        tls.add_argument("--ca-file", help="PEM file of the CA that signed the certificate.")
        parser.add_argument(
            "--vmid-range",
            default="100-999999",
            help="VMIDs the portal may allocate on this cluster (first-last).",
        )

    def handle(self, *args: object, **options: object) -> None:
        try:
            first, last = (int(part) for part in str(options["vmid_range"]).split("-", 1))
        except ValueError:
            raise CommandError("--vmid-range takes FIRST-LAST, e.g. 100-99999") from None
        ca_bundle = ""
        if options["ca_file"]:
            with open(str(options["ca_file"])) as ca_file:
                ca_bundle = ca_file.read()
        try:
            cluster = cluster_register(
                name=str(options["name"]),
                api_addresses=list(options["addresses"]),
                token_id=str(options["token_id"]),
                token_secret=str(options["token_secret"]),
                fingerprint=str(options["fingerprint"]),
                ca_bundle=ca_bundle,
                vmid_range_start=first,
                vmid_range_end=last,
            )
        except ValidationError as error:
            raise CommandError("; ".join(error.messages)) from None
        report = inventory_sync(cluster=cluster)
        self.stdout.write(
            f"Registered {cluster.name}: PVE {cluster.pve_version}, cluster "
            f"'{cluster.pve_cluster_name}', {len(report.nodes_added)} nodes, "
            f"{len(report.storages_added)} storages."
        )
