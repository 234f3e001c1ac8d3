from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from apps.core import embedded
from apps.core.demo import seed_demo, seed_demo_cluster
from apps.proxmox.errors import ProxmoxError


class Command(BaseCommand):
    help = (
        "Run the embedded portal: migrate, seed demo data, start pvesim, the web server and a "
        "worker with beat (Ctrl-C stops them all)."
    )

    def handle(self, *args: object, **options: object) -> None:
        host, port = settings.EMBEDDED_HOST, settings.EMBEDDED_PORT
        stop_requested = embedded.stop_on_signals()
        call_command("migrate", interactive=False, verbosity=0)
        logins = seed_demo()

        pvesim_data_dir = settings.DATA_DIR / "pvesim"
        pvesim = embedded.pvesim_process(
            host=host, port=settings.EMBEDDED_PVESIM_PORT, data_dir=str(pvesim_data_dir)
        )
        worker = embedded.worker_process()
        web = embedded.web_process(host=host, port=port)
        processes = [pvesim, worker, web]
        url = f"http://{host}:{port}/"
        pvesim_url = f"https://{host}:{settings.EMBEDDED_PVESIM_PORT}/api2/json/version"
        try:
            for managed in processes:
                managed.start()
            try:
                embedded.wait_until_answering(pvesim_url, watched=processes)
                cluster = seed_demo_cluster(
                    address=f"{host}:{settings.EMBEDDED_PVESIM_PORT}",
                    pvesim_data_dir=pvesim_data_dir,
                )
                embedded.wait_until_answering(f"{url}healthz", watched=processes)
            except (RuntimeError, ValidationError, ProxmoxError) as error:
                raise CommandError(str(error)) from error
            self._banner(url, host, cluster, logins)
            died = embedded.supervise(processes, stop_requested)
            self.stdout.write("Stopping...")
        finally:
            embedded.stop_all(processes)
        if died:
            raise CommandError(f"{died} stopped unexpectedly; everything else was stopped too.")
        self.stdout.write("Stopped.")

    def _banner(self, url: str, host: str, cluster: object, logins: tuple) -> None:
        self.stdout.write(self.style.SUCCESS(f"\nPortal running at {url}"))
        self.stdout.write(
            f"Proxmox VE simulator at https://{host}:{settings.EMBEDDED_PVESIM_PORT}/ "
            f"(registered as cluster '{cluster.name}', {cluster.nodes.count()} nodes)"
        )
        self.stdout.write("Demo logins:")
        for login in logins:
            self.stdout.write(f"  {login.userid} / {login.password}  ({login.role})")
        self.stdout.write("Press Ctrl-C to stop.\n")
