"""Event contracts: the envelope and the catalogue of every event type."""

from lindung_shared.events.catalogue import (
    CATALOGUE,
    DEAD_LETTER_TOPIC,
    TOPICS,
    Colour,
    EventSpec,
    Language,
    Payload,
    Topic,
    VenueCategory,
    decode_event,
    make_event,
    spec_for,
)
from lindung_shared.events.envelope import (
    Envelope,
    EventError,
    InvalidPayload,
    MalformedEnvelope,
    UnknownEventType,
    UnsupportedEventVersion,
    encode_envelope,
)

__all__ = [
    "CATALOGUE",
    "DEAD_LETTER_TOPIC",
    "TOPICS",
    "Colour",
    "Envelope",
    "EventError",
    "EventSpec",
    "InvalidPayload",
    "Language",
    "MalformedEnvelope",
    "Payload",
    "Topic",
    "UnknownEventType",
    "UnsupportedEventVersion",
    "VenueCategory",
    "decode_event",
    "encode_envelope",
    "make_event",
    "spec_for",
]
