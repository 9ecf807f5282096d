"""Development stand-ins for the external systems Lindung talks to.

One small HTTP process (``python -m lindung_devsystems``) serves three fakes that behave like
the real services at the protocol level, so that development and the tests exercise the real
adapters over real HTTP:

* ``/civil-registry/v1/...``: a civil registry (Dukcapil-like) identity verification API,
  seeded from ``data/residents.csv`` (fictitious residents);
* ``/v1/sms`` and ``/v1/sms/messages``: an SMS gateway that records what it is asked to send;
* ``/v1/messages:send`` and ``/v1/push/messages``: an FCM-style push gateway, likewise.

It is started by ``deploy/local/stack.sh`` (``make run``, ``make test``) and never deployed.
"""
