"""A citizen's own visit history."""
