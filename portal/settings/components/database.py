"""Database settings from a DATABASE_URL."""

import environ


def databases(url: str) -> dict[str, dict]:
    """Build DATABASES from a URL; SQLite waits on locks so the web and a worker can share it."""
    default = environ.Env.db_url_config(url)
    if default["ENGINE"] == "django.db.backends.sqlite3":
        default.setdefault("OPTIONS", {})
        # WAL lets readers and one writer work at once; the timeout absorbs short write bursts.
        # IMMEDIATE: a write transaction takes the lock when it begins, so two of them never
        # both read and then both write (quota checks rely on it, as on PostgreSQL's row locks).
        default["OPTIONS"].update(
            {
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL;",
                "transaction_mode": "IMMEDIATE",
            }
        )
    else:
        default["CONN_MAX_AGE"] = 60
        default["CONN_HEALTH_CHECKS"] = True
    return {"default": default}


def is_sqlite(database_settings: dict[str, dict]) -> bool:
    return database_settings["default"]["ENGINE"] == "django.db.backends.sqlite3"
