"""Who may do what on the brokers: each service its own principal, derived from the event
catalogue, and applied by ``lindung bootstrap`` (as the admin principal) when the brokers
authenticate clients (``KAFKA_SECURITY_PROTOCOL`` other than PLAINTEXT).

- Every service reads every catalogue topic (its consumers pick theirs; the token
  revocations are read by all) and uses the consumer groups named after it
  (``<service>.*``; the notifier's group is ``notifier``).
- A principal WRITES only the topics of the events the catalogue says it produces
  (``EventSpec.producer``), and the dead-letter topic when it consumes. So only
  ``venue-registry`` may publish QR signing keys (``lindung.qr-keys``): check-in trusts what
  it reads there, and anything else that reaches the brokers cannot add a key.
- The national feeds (``vaccination-registry``, ``laboratory``) write their feed topic only.

An authorizer without a matching rule refuses (``allow.everyone.if.no.acl.found=false``);
the admin principal is a super user (``super.users``).
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import dataclass

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.protocol.admin import CreateAclsRequest

from lindung_shared.events import DEAD_LETTER_TOPIC, TOPICS
from lindung_shared.events.catalogue import CATALOGUE
from lindung_shared.kafka.security import kafka_security

#: The services that consume (and so read topics, use groups and write dead letters).
SERVICES = ("venue-registry", "checkin", "health-records", "notifier")

# Kafka's protocol codes (org.apache.kafka.common.acl / resource).
_TOPIC, _GROUP = 2, 3
_LITERAL, _PREFIXED = 3, 4
_OPERATIONS = {"READ": 3, "WRITE": 4, "DESCRIBE": 8}
_ALLOW = 3


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


def acl_plan() -> list[AclBinding]:
    """Every rule, sorted (see the module's documentation)."""
    writes = producers()
    plan: set[AclBinding] = set()
    for service in SERVICES:
        user = f"User:{service}"
        for topic in TOPICS:
            for operation in ("READ", "DESCRIBE"):
                plan.add(AclBinding(user, "topic", topic, "literal", operation))
        for operation in ("READ", "DESCRIBE"):
            plan.add(AclBinding(user, "group", service, "prefixed", operation))
        for topic in writes.get(service, set()) | {DEAD_LETTER_TOPIC}:
            plan.add(AclBinding(user, "topic", topic, "literal", "WRITE"))
    for producer, topics in writes.items():
        if producer in SERVICES:
            continue
        for topic in topics:
            for operation in ("WRITE", "DESCRIBE"):
                plan.add(AclBinding(f"User:{producer}", "topic", topic, "literal", operation))
    return sorted(plan)


def writers_of(topic: str, plan: list[AclBinding] | None = None) -> set[str]:
    """The principals the plan lets write ``topic``."""
    return {
        b.principal
        for b in (plan if plan is not None else acl_plan())
        if b.resource == "topic" and b.name == topic and b.operation == "WRITE"
    }


async def apply_acls(bootstrap_servers: str, plan: list[AclBinding] | None = None) -> int:
    """Create the plan's rules (creating an existing rule changes nothing), as this process's
    principal (the admin, a super user). Returns how many were sent."""
    bindings = plan if plan is not None else acl_plan()
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap_servers, client_id="lindung-admin", **kafka_security()
    )
    await admin.start()
    try:
        node = admin._client.get_random_node()  # ACLs go to any broker (KRaft forwards them)

        async def create(b: AclBinding) -> None:
            request = CreateAclsRequest(
                _TOPIC if b.resource == "topic" else _GROUP,
                b.name,
                _LITERAL if b.pattern == "literal" else _PREFIXED,
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
    finally:
        await admin.close()
    return len(bindings)
