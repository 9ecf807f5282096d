"""Lindung notifier: every alert delivered once, in the recipient's language."""
