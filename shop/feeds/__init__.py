"""Inventory feeds: brands' own stock levels fetched, pushed or uploaded, applied as a run."""
