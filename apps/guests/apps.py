from django.apps import AppConfig


class GuestsConfig(AppConfig):
    name = "apps.guests"
    label = "guests"
    verbose_name = "Guests"

    def ready(self) -> None:
        # Registers this app's operation steps with the runner.
        from apps.guests import steps  # noqa: F401
