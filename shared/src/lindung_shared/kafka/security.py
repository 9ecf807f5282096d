"""How every aiokafka client of a process authenticates to the brokers."""

from __future__ import annotations

import functools
from typing import Any

from aiokafka.helpers import create_ssl_context

from lindung_shared.settings import KafkaSecuritySettings


@functools.cache
def kafka_security() -> dict[str, Any]:
    """The security options of every aiokafka client of this process, from the environment
    (:class:`~lindung_shared.settings.KafkaSecuritySettings`): nothing beyond the protocol for
    PLAINTEXT; the SASL mechanism, user and password for SASL; an SSL context for TLS."""
    settings = KafkaSecuritySettings()
    protocol = settings.kafka_security_protocol
    options: dict[str, Any] = {"security_protocol": protocol}
    if protocol.startswith("SASL"):
        if not settings.kafka_sasl_username or settings.kafka_sasl_password is None:
            raise RuntimeError(
                f"KAFKA_SECURITY_PROTOCOL={protocol} needs KAFKA_SASL_USERNAME and "
                "KAFKA_SASL_PASSWORD (the service's own principal)"
            )
        options.update(
            sasl_mechanism=settings.kafka_sasl_mechanism,
            sasl_plain_username=settings.kafka_sasl_username,
            sasl_plain_password=settings.kafka_sasl_password.get_secret_value(),
        )
    if protocol.endswith("SSL"):
        cafile = str(settings.kafka_ssl_cafile) if settings.kafka_ssl_cafile else None
        options["ssl_context"] = create_ssl_context(cafile=cafile)
    return options
