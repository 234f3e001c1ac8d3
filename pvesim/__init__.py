"""pvesim: a Proxmox VE 9 REST API simulator.

A separate program (``python -m pvesim serve``) that speaks the PVE API over HTTPS so that the
portal, its tests and its developers have one faithful, self-contained double of Proxmox VE.
"""

PVE_VERSION = "9.1.2"
PVE_RELEASE = "9.1"
PVE_REPOID = "5d7e5a3c"
