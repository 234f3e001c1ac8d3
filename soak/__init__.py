"""The soak: mixed tenant traffic against real processes under faults, kills and restarts, then
invariants (`python -m soak --minutes 5`, `make soak`). docs/development.md describes it;
tests/operations/test_soak.py shares its processes, faults and checks."""
