"""How every aiokafka client of a process authenticates to the brokers, and which principal a
service process of the local stack or the tests runs as."""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from aiokafka.helpers import create_ssl_context

from lindung_shared.settings import KafkaSecuritySettings

#: The services with a Kafka principal of their own (``User:<service>``; the rules:
#: :mod:`lindung_shared.kafka.acls`). ``admin`` (``lindung bootstrap``, the tests, the brokers
#: among themselves) is a super user.
SERVICES = ("venue-registry", "checkin", "health-records", "notifier")
ADMIN = "admin"
PRINCIPALS = (ADMIN, *SERVICES)
#: The Python package of each service's processes (``python -m <package>.api|worker``).
PACKAGES = {
    "lindung_venues": "venue-registry",
    "lindung_checkin": "checkin",
    "lindung_health": "health-records",
    "lindung_notifier": "notifier",
}
#: Web faces without any Kafka client: they get no Kafka credentials at all.
KAFKA_FREE_PACKAGES = ("lindung_portal", "lindung_citizen")
#: Where the local stack keeps the generated passwords, one ``<principal>.password`` each.
SASL_DIR_VARIABLE = "LINDUNG_KAFKA_SASL_DIR"
_SASL_VARIABLES = ("KAFKA_SASL_USERNAME", "KAFKA_SASL_PASSWORD", "KAFKA_SASL_PASSWORD_FILE")


def _password(settings: KafkaSecuritySettings) -> str | None:
    if settings.kafka_sasl_password is not None:
        return settings.kafka_sasl_password.get_secret_value()
    if settings.kafka_sasl_password_file is not None:
        lines = settings.kafka_sasl_password_file.read_text(encoding="utf-8").splitlines()
        return lines[0] if lines else ""
    return None


@functools.cache
def kafka_security() -> dict[str, Any]:
    """The security options of every aiokafka client of this process, from the environment
    (:class:`~lindung_shared.settings.KafkaSecuritySettings`): nothing beyond the protocol for
    PLAINTEXT; the SASL mechanism, user and password for SASL; an SSL context for TLS."""
    settings = KafkaSecuritySettings()
    protocol = settings.kafka_security_protocol
    options: dict[str, Any] = {"security_protocol": protocol}
    if protocol.startswith("SASL"):
        password = _password(settings)
        if not settings.kafka_sasl_username or password is None:
            raise RuntimeError(
                f"KAFKA_SECURITY_PROTOCOL={protocol} needs KAFKA_SASL_USERNAME and "
                "KAFKA_SASL_PASSWORD or KAFKA_SASL_PASSWORD_FILE (the service's own principal)"
            )
        options.update(
            sasl_mechanism=settings.kafka_sasl_mechanism,
            sasl_plain_username=settings.kafka_sasl_username,
            sasl_plain_password=password,
        )
    if protocol.endswith("SSL"):
        cafile = str(settings.kafka_ssl_cafile) if settings.kafka_ssl_cafile else None
        options["ssl_context"] = create_ssl_context(cafile=cafile)
    return options


def service_of_command(argv: Sequence[str]) -> str | None:
    """The service a command runs (``python -m lindung_checkin.worker`` -> ``checkin``);
    ``""`` for a web face without Kafka; None for anything else."""
    for arg in argv:
        match = re.fullmatch(r"(lindung_[a-z_]+)(\.[A-Za-z0-9_.]+)?", arg)
        if not match:
            continue
        if match.group(1) in PACKAGES:
            return PACKAGES[match.group(1)]
        if match.group(1) in KAFKA_FREE_PACKAGES:
            return ""
    return None


def service_env(service: str | None, env: Mapping[str, str]) -> dict[str, str]:
    """``env`` for a process of ``service`` (a name of :data:`SERVICES`): on the local stack's
    SASL brokers (``LINDUNG_KAFKA_SASL_DIR`` set) it connects as its own principal with its
    generated password (a file: no password on a command line or in the environment), not as
    the admin the tests and ``lindung bootstrap`` use. ``""`` (a web face without Kafka): no
    Kafka credentials at all. None, PLAINTEXT brokers, or brokers the environment gave:
    ``env`` as it is."""
    out = dict(env)
    if service is None or not out.get("KAFKA_SECURITY_PROTOCOL", "").startswith("SASL"):
        return out
    sasl_dir = out.get(SASL_DIR_VARIABLE)
    if not sasl_dir:
        return out
    for name in _SASL_VARIABLES:
        out.pop(name, None)
    if service:
        if service not in SERVICES:
            raise ValueError(f"{service!r} has no Kafka principal (one of {SERVICES})")
        out["KAFKA_SASL_USERNAME"] = service
        out["KAFKA_SASL_PASSWORD_FILE"] = str(Path(sasl_dir) / f"{service}.password")
    return out


def command_env(argv: Sequence[str], env: Mapping[str, str]) -> dict[str, str]:
    """:func:`service_env` for the service ``argv`` runs (``env`` as it is for other commands)."""
    return service_env(service_of_command(argv), env)


def stack_passwords(env: Mapping[str, str]) -> dict[str, str]:
    """The local stack's generated passwords by principal (empty when it has none): the tests'
    private brokers store the same credentials, so the same environment reaches them."""
    sasl_dir = env.get(SASL_DIR_VARIABLE)
    if not sasl_dir:
        return {}
    out = {}
    for name in PRINCIPALS:
        path = Path(sasl_dir) / f"{name}.password"
        if path.is_file():
            out[name] = path.read_text(encoding="utf-8").splitlines()[0]
    return out
