from django.apps import AppConfig


class BackupsConfig(AppConfig):
    name = "apps.backups"
    label = "backups"
    verbose_name = "Backups"

    def ready(self) -> None:
        # Registers this app's operation steps with the runner.
        from apps.backups import steps  # noqa: F401
