"""How long the notifier keeps messages, deliveries and devices, and the purges that enforce
it (run by the worker; see docs/privacy.md)."""
