"""Reads of the back-office. Operators see everything, so nothing here is scoped per row: the
views admit operators only (apps/backoffice/access.py)."""
