"""Check-in and check-out: the scan at the door, offline batches, the automatic sweeper."""
