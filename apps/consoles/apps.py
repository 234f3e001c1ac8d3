from django.apps import AppConfig


class ConsolesConfig(AppConfig):
    name = "apps.consoles"
    label = "consoles"
    verbose_name = "Consoles"

    def ready(self) -> None:
        from apps.consoles import signals  # noqa: F401
