"""How long health-records keeps what it knows about a person, and the purges that enforce it
(run by the worker; see docs/privacy.md)."""
