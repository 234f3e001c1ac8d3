"""PVE API handlers, one module per area; importing a module registers its routes."""
