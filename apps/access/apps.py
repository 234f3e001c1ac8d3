from django.apps import AppConfig


class AccessConfig(AppConfig):
    name = "apps.access"
    label = "access"
    verbose_name = "Access control"

    def ready(self) -> None:
        # The membership invalidation hook, and the token scheme for the OpenAPI schema.
        from apps.access import schema, signals  # noqa: F401
