"""Realm types: how each one checks a password (and, for directories, syncs users and groups)."""
