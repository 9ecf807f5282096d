"""Lindung check-in service: scans, screening at the door, capacity, check-out."""
