"""One module per integration, turning values read in base.py into Django settings."""
