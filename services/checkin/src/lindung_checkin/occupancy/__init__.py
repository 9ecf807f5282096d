"""Coalesced occupancy events and crowding crossings, published from the worker."""
