"""Logging: human-readable text in development, one JSON object per line in production."""


def logging_config(*, level: str, json_format: bool) -> dict:
    formatter = "json" if json_format else "text"
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"correlation_id": {"()": "django_guid.log_filters.CorrelationId"}},
        "formatters": {
            "text": {
                "format": "%(asctime)s %(levelname)s [%(correlation_id)s] %(name)s: %(message)s",
            },
            "json": {
                "()": "pythonjsonlogger.json.JsonFormatter",
                "format": "%(asctime)s %(levelname)s %(correlation_id)s %(name)s %(message)s",
                "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
            },
        },
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": formatter,
                "filters": ["correlation_id"],
            },
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "django.request": {"level": "WARNING"},
            "django.db.backends": {"level": "INFO"},
            # It logs every request that arrives without an X-Request-ID header.
            "django_guid": {"level": "WARNING"},
            # It logs every successful login's reset of the failure counters.
            "axes": {"level": "WARNING"},
        },
    }
