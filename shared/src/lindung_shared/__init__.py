"""Contracts and plumbing that every Lindung service uses. No business rules live here."""
