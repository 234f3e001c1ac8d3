"""Proxmox VE domain knowledge shared by the portal and the PVE API simulator.

Pure standard-library Python: no Django, no I/O, no clock reads. Every rule here follows
PVE's own behaviour (see shared/pve-api/FACTS.md) and is tested against PVE's published vectors.
"""
