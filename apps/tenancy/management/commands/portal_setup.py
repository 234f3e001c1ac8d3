from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from apps.clusters.models import Cluster
from apps.identity.services.users import user_create
from apps.tenancy.resources import Resources
from apps.tenancy.services import plan_create, tenant_admin_create, tenant_create


class Command(BaseCommand):
    help = "First steps from the shell: an operator, tenants (with quota and an admin), plans."

    def add_arguments(self, parser: CommandParser) -> None:
        commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
        operator = commands.add_parser("operator", help="Create an operator (back-office).")
        operator.add_argument("userid", help="name@realm; a built-in (pve) realm needs --password")
        operator.add_argument("--password")
        operator.add_argument("--email", default="")

        tenant = commands.add_parser("tenant", help="Create a tenant with its quota.")
        tenant.add_argument("slug", help="Also names the tenant's PVE pool.")
        tenant.add_argument("--name", required=True)
        for dimension in ("guests", "vcpus", "memory-mb", "disk-gb", "snapshots", "backup-gb"):
            tenant.add_argument(f"--{dimension}", type=int, default=0)
        tenant.add_argument(
            "--admin",
            help="A user id to create as the tenant's administrator "
            "(PVEVMAdmin on the tenant's pool).",
        )
        tenant.add_argument("--admin-password")

        plan = commands.add_parser("plan", help="Create a plan.")
        plan.add_argument("slug")
        plan.add_argument("--name", required=True)
        plan.add_argument("--cores", type=int, required=True)
        plan.add_argument("--memory-mb", type=int, required=True)
        plan.add_argument("--disk-gb", type=int, required=True)
        plan.add_argument("--snapshots", type=int, default=0)
        plan.add_argument("--backups", type=int, default=0)
        plan.add_argument(
            "--cluster",
            action="append",
            default=[],
            help="A cluster the plan offers (repeat; none: every cluster).",
        )
        plan.add_argument(
            "--template",
            action="append",
            default=[],
            help="A template name pattern such as 'debian-*' (repeat; none: every template).",
        )

    def handle(self, *args: object, **options: object) -> None:
        try:
            with transaction.atomic():  # all of it, or nothing
                getattr(self, f"_{options['command']}")(options)
        except ValidationError as error:
            raise CommandError("; ".join(error.messages)) from None
        except ValueError as error:
            raise CommandError(str(error)) from None

    def _operator(self, options: dict) -> None:
        user = user_create(
            userid=options["userid"],
            password=options["password"],
            email=options["email"],
            is_staff=True,
        )
        self.stdout.write(f"Operator {user.username} created.")

    def _tenant(self, options: dict) -> None:
        limits = Resources(
            guests=options["guests"],
            vcpus=options["vcpus"],
            memory_mb=options["memory_mb"],
            disk_gb=options["disk_gb"],
            snapshots=options["snapshots"],
            backup_gb=options["backup_gb"],
        )
        tenant = tenant_create(slug=options["slug"], name=options["name"], limits=limits)
        if options["admin"]:
            tenant_admin_create(
                tenant=tenant, userid=options["admin"], password=options["admin_password"]
            )
        self.stdout.write(f"Tenant {tenant.slug} created.")

    def _plan(self, options: dict) -> None:
        clusters = list(Cluster.objects.filter(name__in=options["cluster"]))
        unknown = set(options["cluster"]) - {cluster.name for cluster in clusters}
        if unknown:
            raise CommandError(f"no such cluster: {', '.join(sorted(unknown))}")
        plan = plan_create(
            slug=options["slug"],
            name=options["name"],
            cores=options["cores"],
            memory_mb=options["memory_mb"],
            disk_gb=options["disk_gb"],
            snapshots=options["snapshots"],
            backups=options["backups"],
            clusters=clusters,
            templates=options["template"],
        )
        self.stdout.write(f"Plan {plan.slug} created.")
