"""Signals other apps listen to, so operations need not know who cares when one ends."""

from django.dispatch import Signal

# Sent with `operation` once an operation has ended (its finisher ran, its state is saved),
# inside the transaction that saved it.
operation_finished = Signal()
