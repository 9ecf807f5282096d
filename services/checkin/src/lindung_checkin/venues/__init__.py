"""The local copy of the registry's venues, their occupancy and statistics for managers."""
