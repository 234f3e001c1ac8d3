"""Signals about tenants, sent by whoever changes them."""

from django.dispatch import Signal

# Sent with `tenant` and `actor` inside the transaction that suspended the tenant.
tenant_suspended = Signal()
