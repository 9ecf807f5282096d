"""The local copy of each person's screening colour."""
