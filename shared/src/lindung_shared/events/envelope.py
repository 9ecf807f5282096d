"""The envelope every Kafka message travels in.

Wire format: one JSON object (UTF-8)::

    {"id": "<uuid>", "type": "case.confirmed", "version": 1,
     "occurred_at": "2026-11-25T10:00:00Z", "producer": "health-records",
     "key": "<partition key>", "payload": {...}}

The type and version are also copied into the Kafka headers ``event-type`` and
``event-version`` so that routers can skip messages without parsing them. A consumer decodes
the envelope, then looks the (type, version) pair up in the catalogue: an unknown pair is
rejected (and dead-lettered), never guessed at.
"""

from __future__ import annotations

import functools
import uuid
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

import orjson
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

P = TypeVar("P", bound=BaseModel)


class EventError(ValueError):
    """A message that cannot be turned into a known, valid event."""

    reason = "invalid-event"


class MalformedEnvelope(EventError):
    reason = "malformed-envelope"


class UnknownEventType(EventError):
    reason = "unknown-event-type"


class UnsupportedEventVersion(EventError):
    reason = "unsupported-event-version"


class InvalidPayload(EventError):
    reason = "invalid-payload"


class Envelope(BaseModel, Generic[P]):
    model_config = ConfigDict(frozen=True)

    id: uuid.UUID = Field(default_factory=uuid.uuid4)
    type: str
    version: int = Field(ge=1)
    occurred_at: AwareDatetime = Field(default_factory=lambda: datetime.now(UTC))
    producer: str
    key: str
    payload: P


class RawEnvelope(BaseModel):
    """The envelope with its payload still undecoded (first step of decoding)."""

    id: uuid.UUID
    type: str = Field(min_length=1)
    version: int = Field(ge=1)
    occurred_at: AwareDatetime
    producer: str
    key: str
    payload: dict[str, Any]


def encode_envelope(envelope: Envelope[Any]) -> bytes:
    return orjson.dumps(envelope.model_dump(mode="json"))


def decode_raw(value: bytes | None) -> RawEnvelope:
    if value is None:
        raise MalformedEnvelope("message has no value")
    try:
        data = orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        raise MalformedEnvelope(f"message value is not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise MalformedEnvelope("message value is not a JSON object")
    try:
        return RawEnvelope.model_validate(data)
    except ValidationError as exc:
        raise MalformedEnvelope(f"envelope is invalid: {_short(exc)}") from exc


def _short(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:5])


@functools.cache
def _envelope_of(model: type[P]) -> type[Envelope[P]]:
    return Envelope[model]  # type: ignore[valid-type]


def validate_payload(model: type[P], raw: RawEnvelope) -> Envelope[P]:
    try:
        payload = model.model_validate(raw.payload)
    except ValidationError as exc:
        raise InvalidPayload(
            f"{raw.type} v{raw.version} payload is invalid: {_short(exc)}"
        ) from exc
    # The raw envelope's fields and the payload are validated already: construct, do not
    # validate again. The parametrised class is looked up once per payload model (pydantic's
    # own generic cache computes a key on every subscription: a tenth of a consumer's CPU).
    return _envelope_of(model).model_construct(
        id=raw.id,
        type=raw.type,
        version=raw.version,
        occurred_at=raw.occurred_at,
        producer=raw.producer,
        key=raw.key,
        payload=payload,
    )
