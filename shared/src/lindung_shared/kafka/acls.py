"""Who may do what on the brokers: each service its own principal, and applied by
``lindung bootstrap`` (as the admin principal) when the brokers authenticate clients
(``KAFKA_SECURITY_PROTOCOL`` other than PLAINTEXT).

- A principal READS only the topics its consumers subscribe to (:data:`READS`, taken from the
  services' code and checked against it by tests/hostile/test_kafka_acls.py), the token
  revocations when its API accepts citizen tokens (:data:`REVOCATION_READERS`; read without a
  group), and uses only the consumer groups named after it (``<service>*``: checkin's are
  ``checkin.<name>``, the notifier's is ``notifier``). So the notifier cannot read QR signing
  keys, check-in cannot read lab results, and the registry reads no events at all.
- A principal WRITES only the topics of the events the catalogue says it produces
  (``EventSpec.producer``), and the dead-letter topic when it consumes. So only
  ``venue-registry`` may publish QR signing keys (``lindung.qr-keys``): check-in trusts what
  it reads there, and anything else that reaches the brokers cannot add a key.
- The national feeds (``vaccination-registry``, ``laboratory``) write their feed topic only.
- The dead-letter topic is read by operators (the admin principal).

An authorizer without a matching rule refuses (``allow.everyone.if.no.acl.found=false``);
the admin principal is a super user (``super.users``). Applying the plan also deletes the
rules of these principals that are no longer in it (a rule set narrowed by a release does
not leave the old, wider rules behind).
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from dataclasses import dataclass

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.protocol.admin import CreateAclsRequest, DeleteAclsRequest, DescribeAclsRequest

from lindung_shared.events import DEAD_LETTER_TOPIC, TOPICS
from lindung_shared.events.catalogue import CATALOGUE
from lindung_shared.kafka.security import SERVICES, kafka_security

log = logging.getLogger(__name__)

#: The topics each service's consumers subscribe to (its worker; check-in's exposure matcher
#: too). A change of a service's subscriptions changes this table (the test says so).
READS: dict[str, frozenset[str]] = {
    "venue-registry": frozenset(),
    "checkin": frozenset(
        {
            "lindung.venues",
            "lindung.qr-keys",
            "lindung.health-status",
            "lindung.zones",
            "lindung.cases",
        }
    ),
    "health-records": frozenset(
        {"lindung.feed.vaccinations", "lindung.feed.lab-results", "lindung.exposures"}
    ),
    "notifier": frozenset(
        {
            "lindung.people",
            "lindung.sign-in-codes",
            "lindung.health-status",
            "lindung.cases",
            "lindung.exposures",
            "lindung.venue-alerts",
            "lindung.occupancy",
            "lindung.zone-alerts",
            "lindung.venues",
        }
    ),
}
#: The revoked tokens: read (from the start, no group) by every API that accepts citizen tokens.
REVOCATIONS_TOPIC = "lindung.token-revocations"
REVOCATION_READERS = SERVICES

# Kafka's protocol codes (org.apache.kafka.common.acl / resource).
_ANY, _MATCH = 1, 2
_TOPIC, _GROUP = 2, 3
_LITERAL, _PREFIXED = 3, 4
_OPERATIONS = {"READ": 3, "WRITE": 4, "DESCRIBE": 8}
_ALLOW = 3
_RESOURCES = {"topic": _TOPIC, "group": _GROUP}
_PATTERNS = {"literal": _LITERAL, "prefixed": _PREFIXED}


@dataclass(frozen=True, order=True)
class AclBinding:
    principal: str  # "User:<name>"
    resource: str  # "topic" or "group"
    name: str
    pattern: str  # "literal" or "prefixed"
    operation: str  # "READ", "WRITE", "DESCRIBE"


def producers() -> dict[str, set[str]]:
    """Topics each producer writes, from the event catalogue."""
    writes: dict[str, set[str]] = defaultdict(set)
    for spec in CATALOGUE.values():
        writes[spec.producer].add(spec.topic)
    return writes


def reads() -> dict[str, set[str]]:
    """Topics each service reads: its consumers' and the token revocations."""
    out = {service: set(READS[service]) for service in SERVICES}
    for service in REVOCATION_READERS:
        out[service].add(REVOCATIONS_TOPIC)
    return out


def acl_plan() -> list[AclBinding]:
    """Every rule, sorted (see the module's documentation)."""
    unknown = set().union(*READS.values()) - set(TOPICS)
    if unknown:
        raise ValueError(f"READS names topics outside the catalogue: {sorted(unknown)}")
    writes = producers()
    plan: set[AclBinding] = set()
    for service, topics in reads().items():
        user = f"User:{service}"
        for topic in topics:
            for operation in ("READ", "DESCRIBE"):
                plan.add(AclBinding(user, "topic", topic, "literal", operation))
        if READS[service]:
            for operation in ("READ", "DESCRIBE"):
                plan.add(AclBinding(user, "group", service, "prefixed", operation))
        dead_letters = {DEAD_LETTER_TOPIC} if READS[service] else set()
        for topic in writes.get(service, set()) | dead_letters:
            plan.add(AclBinding(user, "topic", topic, "literal", "WRITE"))
    for producer, topics in writes.items():
        if producer in SERVICES:
            continue
        for topic in topics:
            for operation in ("WRITE", "DESCRIBE"):
                plan.add(AclBinding(f"User:{producer}", "topic", topic, "literal", operation))
    return sorted(plan)


def readers_of(topic: str, plan: list[AclBinding] | None = None) -> set[str]:
    """The principals the plan lets read ``topic``."""
    return {
        b.principal
        for b in (plan if plan is not None else acl_plan())
        if b.resource == "topic" and b.name == topic and b.operation == "READ"
    }


def writers_of(topic: str, plan: list[AclBinding] | None = None) -> set[str]:
    """The principals the plan lets write ``topic``."""
    return {
        b.principal
        for b in (plan if plan is not None else acl_plan())
        if b.resource == "topic" and b.name == topic and b.operation == "WRITE"
    }


async def apply_acls(bootstrap_servers: str, plan: list[AclBinding] | None = None) -> int:
    """Create the plan's rules (creating an existing rule changes nothing) and delete the
    rules of the plan's principals that it does not hold, as this process's principal (the
    admin, a super user). Returns how many rules the plan has."""
    bindings = plan if plan is not None else acl_plan()
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap_servers, client_id="lindung-admin", **kafka_security()
    )
    await admin.start()
    try:
        node = admin._client.get_random_node()  # ACLs go to any broker (KRaft forwards them)

        async def create(b: AclBinding) -> None:
            request = CreateAclsRequest(
                _RESOURCES[b.resource],
                b.name,
                _PATTERNS[b.pattern],
                b.principal,
                "*",
                _OPERATIONS[b.operation],
                _ALLOW,
            )
            response = await admin._client.send(node, request)
            for code, message in response.creation_responses:
                if code:
                    raise RuntimeError(f"could not create the ACL {b}: {code} {message}")

        await asyncio.gather(*(create(b) for b in bindings))
        wanted = {
            (
                _RESOURCES[b.resource],
                b.name,
                _PATTERNS[b.pattern],
                b.principal,
                "*",
                _OPERATIONS[b.operation],
                _ALLOW,
            )
            for b in bindings
        }
        for principal in sorted({b.principal for b in bindings}):
            described = await admin._client.send(
                node,
                DescribeAclsRequest(_ANY, None, _ANY, principal, None, _ANY, _ANY),  # type: ignore[arg-type]
            )
            if described.error_code:
                raise RuntimeError(
                    f"could not describe the ACLs of {principal}: {described.error_code}"
                )
            for resource_type, name, pattern, acls in described.resources:
                for acl_principal, host, operation, permission in acls:
                    rule = (
                        resource_type,
                        name,
                        pattern,
                        acl_principal,
                        host,
                        operation,
                        permission,
                    )
                    if rule in wanted:
                        continue
                    log.warning("deleting a Kafka ACL outside the plan: %s", rule)
                    await admin._client.send(node, DeleteAclsRequest(*rule))
    finally:
        await admin.close()
    return len(bindings)
