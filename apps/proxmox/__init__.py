"""The one door to Proxmox VE: every API call of the portal goes through this package."""
