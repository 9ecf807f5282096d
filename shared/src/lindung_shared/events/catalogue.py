"""The event catalogue: every Kafka message of the suite, its topic, key and payload schema.

This module is the single place where event contracts are defined. A new version of an event
is a new ``(type, version)`` entry with its own payload model; the old one stays until no
producer emits it. Producers use :func:`make_event`, consumers :func:`decode_event`; both
validate against the same model.

Partition keys are chosen for ordering: everything about one venue is keyed by venue id, and
everything about one person by person id, so per-key order holds across a topic's partitions.
"""

from __future__ import annotations

import builtins
import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from lindung_shared.events.envelope import (
    Envelope,
    RawEnvelope,
    UnknownEventType,
    UnsupportedEventVersion,
    _envelope_of,
    decode_raw,
    validate_payload,
)


@dataclass(frozen=True)
class Topic:
    name: str
    partitions: int
    key: str
    description: str
    retention_hours: int = 168
    #: Compacted as well as deleted after ``retention_hours``: only each key's latest event
    #: matters (a reader rebuilds the current state from the whole topic).
    compacted: bool = False


TOPICS: dict[str, Topic] = {
    t.name: t
    for t in (
        Topic("lindung.venues", 6, "venue id", "Venue lifecycle and QR codes (venue-registry)."),
        Topic(
            "lindung.qr-keys",
            1,
            "key id",
            "QR signing public keys (venue-registry).",
            retention_hours=24 * 365,
        ),
        Topic("lindung.zones", 3, "regency code", "Zone risk levels (venue-registry)."),
        Topic("lindung.people", 6, "person id", "Contact details for delivery (health-records)."),
        Topic(
            "lindung.sign-in-codes",
            3,
            "person id",
            "One-time sign-in codes (health-records).",
            retention_hours=1,
        ),
        Topic(
            "lindung.token-revocations",
            3,
            "person id",
            "Each person's lowest token generation still honoured (health-records); read whole "
            "by every API process. Kept a day: longer than any citizen token lives.",
            retention_hours=24,
            compacted=True,
        ),
        Topic("lindung.health-status", 12, "person id", "Status changes (health-records)."),
        Topic(
            "lindung.cases",
            6,
            "person id",
            "Confirmed and retracted cases, and suspected cases (PDP) flagged and ruled out "
            "(health-records): one key per person, so a suspicion is read before its "
            "confirmation.",
        ),
        Topic(
            "lindung.feed.vaccinations",
            6,
            "patient NIK hash or source id",
            "FHIR Immunization records from the national vaccination registry.",
        ),
        Topic(
            "lindung.feed.lab-results",
            6,
            "patient NIK hash or source id",
            "FHIR Observation records from the national laboratory system.",
        ),
        Topic(
            "lindung.exposures",
            12,
            "contact person id",
            "Close contacts found, and advisories to visitors of suspected cases (checkin).",
        ),
        Topic("lindung.venue-alerts", 6, "venue id", "A case visited a venue (checkin)."),
        Topic("lindung.occupancy", 6, "venue id", "Occupancy changes and crowding (checkin)."),
        Topic(
            "lindung.zone-alerts",
            6,
            "person id",
            "People who visited a regency whose level rose to red (checkin).",
        ),
        Topic(
            "lindung.dead-letter",
            3,
            "original key",
            "Messages no consumer could handle: their ids, times and error, scrubbed.",
            retention_hours=24 * 7,
        ),
    )
}
DEAD_LETTER_TOPIC = "lindung.dead-letter"


class Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- shared vocabularies -------------------------------------------------------------------


class VenueCategory(StrEnum):
    MALL = "mall"
    OFFICE = "office"
    RESTAURANT = "restaurant"
    WORSHIP = "worship"
    TRANSPORT_HUB = "transport_hub"
    HOTEL = "hotel"
    SPORT = "sport"
    TOURISM = "tourism"
    SCHOOL = "school"
    HEALTHCARE = "healthcare"
    PUBLIC_SERVICE = "public_service"
    EVENT = "event"
    OTHER = "other"


class Colour(StrEnum):
    """Screening colours, from most to least restricted."""

    BLACK = "black"
    RED = "red"
    YELLOW = "yellow"
    GREEN = "green"


class Language(StrEnum):
    ID = "id"
    EN = "en"


IndonesianTimezone = Literal["Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura"]


class OpeningHours(Payload):
    weekday: int = Field(ge=0, le=6, description="0 = Monday")
    opens: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    closes: str = Field(pattern=r"^([01]\d|2[0-4]):[0-5]\d$")


# --- venue-registry ------------------------------------------------------------------------


class VenueSnapshot(Payload):
    """The whole venue as the registry holds it now (consumers keep their own copy)."""

    venue_id: uuid.UUID
    manager_id: str
    name: str
    category: VenueCategory
    regency_code: str = Field(pattern=r"^\d{4}$")
    timezone: IndonesianTimezone
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)
    capacity: int = Field(gt=0)
    effective_capacity: int = Field(gt=0, description="capacity after the zone's rule")
    max_stay_minutes: int = Field(gt=0)
    opening_hours: list[OpeningHours] = Field(
        default_factory=list, description="empty: always open"
    )
    status: Literal["active", "closed"] = "active"
    updated_at: AwareDatetime
    operating_since: AwareDatetime | None = Field(
        default=None,
        description="offline visits scanned before it are refused; absent from snapshots "
        "published before it existed (no such check for those venues)",
    )


class VenueClosed(Payload):
    venue_id: uuid.UUID
    closed_at: AwareDatetime


class QrCodeIssued(Payload):
    qr_id: uuid.UUID
    venue_id: uuid.UUID
    entrance: str
    key_id: str
    issued_at: AwareDatetime


class QrCodeRevoked(Payload):
    qr_id: uuid.UUID
    venue_id: uuid.UUID
    revoked_at: AwareDatetime


class QrKeyPublished(Payload):
    key_id: str
    jwk: dict[str, Any] = Field(description="public JWK (OKP/Ed25519 or EC/P-256)")
    status: Literal["active", "retiring"]
    published_at: AwareDatetime


class QrKeyRetired(Payload):
    key_id: str
    retired_at: AwareDatetime


#: The PPKM level of a red zone (the highest): warned about at the door, and a regency turning
#: to it alerts its recent visitors.
RED_ZONE_LEVEL = 4


class ZoneLevelChanged(Payload):
    regency_code: str = Field(pattern=r"^\d{4}$")
    level: int = Field(ge=1, le=4, description="PPKM level")
    previous_level: int | None = Field(default=None, ge=1, le=4)
    colour: Literal["green", "yellow", "orange", "red"]
    changed_at: AwareDatetime


# --- health-records ------------------------------------------------------------------------


class PersonContactChanged(Payload):
    """Delivery details for the notifier. PII: the topic is readable by the notifier only."""

    person_id: uuid.UUID
    phone_e164: str = Field(pattern=r"^\+[1-9]\d{6,14}$")
    language: Language = Language.ID


#: A value sealed for the notifier (``lindung_shared.sealing``): AES-256-GCM, never in clear.
Sealed = Annotated[str, Field(pattern=r"^s1\.[A-Za-z0-9_-]{16,400}$")]


class PersonContactChangedV2(Payload):
    """Delivery details for the notifier, the phone sealed (``lindung_shared.sealing``, label
    "phone"): the topic carries no phone number in clear."""

    person_id: uuid.UUID
    phone_sealed: Sealed
    language: Language = Language.ID


class PersonPhoneChanged(Payload):
    """Tell the old number that the account's phone changed (by the person, proven by a code
    sent to the new number, or by an officer's recovery): whoever did not ask for it knows to
    see a health officer. Sent before the ``person.contact_changed`` with the new number.
    The old number is sealed (label "phone")."""

    person_id: uuid.UUID
    old_phone_sealed: Sealed
    language: Language = Language.ID
    changed_at: AwareDatetime
    by: Literal["person", "officer"]


class SignInCodeIssued(Payload):
    person_id: uuid.UUID
    phone_e164: str = Field(pattern=r"^\+[1-9]\d{6,14}$")
    code: str = Field(pattern=r"^\d{6}$")
    language: Language = Language.ID
    expires_at: AwareDatetime


class SignInCodeIssuedV2(Payload):
    """A one-time code to send by SMS; the phone (label "phone") and the code (label "code")
    sealed for the notifier."""

    person_id: uuid.UUID
    phone_sealed: Sealed
    code_sealed: Sealed
    language: Language = Language.ID
    expires_at: AwareDatetime


class RevocationReason(StrEnum):
    RECOVERY = "recovery"  # an officer re-bound the NIK to another phone
    PHONE_CHANGED = "phone_changed"
    SIGNED_OUT = "signed_out"  # the person signed out everywhere


class TokensRevoked(Payload):
    """Every token of ``person_id`` issued with a generation below ``generation`` is refused
    from now on (tokens carry the generation they were issued with, claim ``gen``)."""

    person_id: uuid.UUID
    generation: int = Field(ge=1)
    reason: RevocationReason
    revoked_at: AwareDatetime


class StatusChanged(Payload):
    person_id: uuid.UUID
    colour: Colour
    previous_colour: Colour | None = None
    reasons: list[str] = Field(
        default_factory=list, description="machine codes, e.g. 'isolation', 'quarantine'"
    )
    valid_until: AwareDatetime | None = None
    rule_version: str
    changed_at: AwareDatetime


class CaseConfirmed(Payload):
    case_id: uuid.UUID
    case_ref: str = Field(description="pseudonymous reference, safe to show to contacts")
    person_id: uuid.UUID
    sample_taken_at: AwareDatetime
    infectious_from: AwareDatetime = Field(
        description="start of the traced window: the rule's look-back (14 days by default) or "
        "infectious period before the sample (docs/rules.md)"
    )
    infectious_until: AwareDatetime


class CaseConfirmedV2(CaseConfirmed):
    """``case.confirmed`` v2: the suspected case it confirms, if the person was one (their
    advised contacts become close contacts: docs/suspects.md)."""

    suspect_id: uuid.UUID | None = Field(
        default=None, description="the suspect.flagged this case confirms (None: none open)"
    )
    suspect_ref: str | None = None


class SuspectFlagged(Payload):
    """A person became a suspected case (PDP, *pasien dalam pengawasan*): a COVID-19 Condition
    whose verification status is provisional (or differential, unconfirmed). Not a colour:
    their visitors are advised to watch for symptoms and get tested."""

    suspect_id: uuid.UUID
    suspect_ref: str = Field(description="pseudonymous reference, safe to show to contacts")
    person_id: uuid.UUID
    suspected_at: AwareDatetime = Field(description="the Condition's onset (or recorded date)")
    traced_from: AwareDatetime = Field(
        description="start of the traced window: the rule's look-back before suspected_at"
    )
    traced_until: AwareDatetime


class SuspectRuledOut(Payload):
    """A suspicion ended without a case: refuted (the Condition says so), or withdrawn (the
    Condition was entered in error, or re-dated: a new suspect.flagged follows)."""

    suspect_id: uuid.UUID
    suspect_ref: str
    person_id: uuid.UUID
    reason: Literal["refuted", "withdrawn"]
    ruled_out_at: AwareDatetime


class CaseRetracted(Payload):
    case_id: uuid.UUID
    case_ref: str
    person_id: uuid.UUID
    retracted_at: AwareDatetime


class FhirResourceSubmitted(Payload):
    """A record pushed by a national feed: a FHIR R4 Immunization, Observation or Bundle."""

    source: Literal["vaccination-registry", "laboratory"]
    resource: dict[str, Any]


class FhirEntryRejected(Payload):
    """One entry of a feed message that could not be applied, dead-lettered on its own while
    the message's other entries were applied (batch, collection and document Bundles)."""

    source: Literal["vaccination-registry", "laboratory"]
    source_event_id: uuid.UUID = Field(description="the fhir.*.submitted event it came in")
    entry_index: int = Field(ge=0, description="its position in the Bundle's entries")
    resource_type: str | None = None
    reason: str = Field(description="machine code, e.g. unknown-vaccine-code, no-nik")
    message: str
    resource: dict[str, Any] | None = Field(
        default=None, description="the entry's resource as received (None if not an object)"
    )


# --- checkin -------------------------------------------------------------------------------


class ExposureDetected(Payload):
    exposure_id: uuid.UUID
    case_ref: str
    contact_person_id: uuid.UUID
    venue_id: uuid.UUID
    venue_name: str
    venue_timezone: IndonesianTimezone
    overlap_start: AwareDatetime
    overlap_end: AwareDatetime
    overlap_minutes: float = Field(ge=0)


class ExposureDetectedV2(ExposureDetected):
    """``exposure.detected`` v2: the advisory it upgrades, when the contact was advised about
    the same person as a suspected case (one alert replaces the other)."""

    advisory_id: uuid.UUID | None = Field(
        default=None, description="the exposure.advised this close contact upgrades"
    )


class ExposureAdvised(Payload):
    """A visitor whose stay overlapped a suspected case's: watch for symptoms, get tested.
    Not a quarantine (their colour does not change)."""

    advisory_id: uuid.UUID
    suspect_ref: str
    contact_person_id: uuid.UUID
    venue_id: uuid.UUID
    venue_name: str
    venue_timezone: IndonesianTimezone
    overlap_start: AwareDatetime
    overlap_end: AwareDatetime
    overlap_minutes: float = Field(ge=0)


class ExposureAdvisoryWithdrawn(Payload):
    """An advisory withdrawn because its suspected case was ruled out (a correction)."""

    advisory_id: uuid.UUID
    suspect_ref: str
    contact_person_id: uuid.UUID
    venue_id: uuid.UUID


class ExposureRetracted(Payload):
    exposure_id: uuid.UUID
    case_ref: str
    contact_person_id: uuid.UUID
    venue_id: uuid.UUID


class VenueCaseVisited(Payload):
    case_ref: str
    venue_id: uuid.UUID
    manager_id: str
    venue_name: str
    venue_timezone: IndonesianTimezone
    visit_start: AwareDatetime
    visit_end: AwareDatetime


class VenueCaseVisitRetracted(VenueCaseVisited):
    """A ``venue.case_visited`` withdrawn because its case was retracted (the same visit,
    the same fields)."""


class VenueSuspectVisited(Payload):
    """A suspected case (PDP) visited the venue, for its manager (as ``venue.case_visited``)."""

    suspect_ref: str
    venue_id: uuid.UUID
    manager_id: str
    venue_name: str
    venue_timezone: IndonesianTimezone
    visit_start: AwareDatetime
    visit_end: AwareDatetime


class VenueSuspectVisitWithdrawn(VenueSuspectVisited):
    """A ``venue.suspect_visited`` withdrawn because the suspicion was ruled out."""


class OccupancyChanged(Payload):
    venue_id: uuid.UUID
    present: int = Field(ge=0)
    capacity: int = Field(gt=0)
    at: AwareDatetime


class VenueCrowding(Payload):
    venue_id: uuid.UUID
    manager_id: str
    venue_name: str
    present: int = Field(ge=0)
    capacity: int = Field(gt=0)
    threshold_percent: int = Field(ge=1, le=100)
    at: AwareDatetime


class ZoneVisitorAlert(Payload):
    person_id: uuid.UUID
    regency_code: str
    level: int = Field(ge=1, le=4)
    colour: Literal["green", "yellow", "orange", "red"]
    last_visit_at: AwareDatetime
    changed_at: AwareDatetime


# --- the catalogue itself ------------------------------------------------------------------


@dataclass(frozen=True)
class EventSpec:
    type: str
    version: int
    topic: str
    payload: builtins.type[Payload]
    key_field: str
    producer: str
    description: str

    def key_of(self, payload: Payload) -> str:
        return str(getattr(payload, self.key_field))


_SPECS = (
    EventSpec(
        "venue.registered",
        1,
        "lindung.venues",
        VenueSnapshot,
        "venue_id",
        "venue-registry",
        "A venue was registered.",
    ),
    EventSpec(
        "venue.updated",
        1,
        "lindung.venues",
        VenueSnapshot,
        "venue_id",
        "venue-registry",
        "A venue changed (including its effective capacity).",
    ),
    EventSpec(
        "venue.closed",
        1,
        "lindung.venues",
        VenueClosed,
        "venue_id",
        "venue-registry",
        "A venue closed for good; its QR codes stop working.",
    ),
    EventSpec(
        "qr_code.issued",
        1,
        "lindung.venues",
        QrCodeIssued,
        "venue_id",
        "venue-registry",
        "A signed QR code was issued for an entrance.",
    ),
    EventSpec(
        "qr_code.revoked",
        1,
        "lindung.venues",
        QrCodeRevoked,
        "venue_id",
        "venue-registry",
        "A QR code was revoked; check-ins with it are refused.",
    ),
    EventSpec(
        "qr_key.published",
        1,
        "lindung.qr-keys",
        QrKeyPublished,
        "key_id",
        "venue-registry",
        "A QR signing public key is trusted (active or retiring).",
    ),
    EventSpec(
        "qr_key.retired",
        1,
        "lindung.qr-keys",
        QrKeyRetired,
        "key_id",
        "venue-registry",
        "A QR signing key is retired; its codes stop verifying.",
    ),
    EventSpec(
        "zone.level_changed",
        1,
        "lindung.zones",
        ZoneLevelChanged,
        "regency_code",
        "venue-registry",
        "A regency's PPKM level changed.",
    ),
    EventSpec(
        "person.contact_changed",
        1,
        "lindung.people",
        PersonContactChanged,
        "person_id",
        "health-records",
        "A person's phone or language changed (or was first set).",
    ),
    EventSpec(
        "person.contact_changed",
        2,
        "lindung.people",
        PersonContactChangedV2,
        "person_id",
        "health-records",
        "A person's phone or language changed (or was first set); the phone sealed.",
    ),
    EventSpec(
        "person.phone_changed",
        1,
        "lindung.people",
        PersonPhoneChanged,
        "person_id",
        "health-records",
        "A person's phone was changed: the old number is told.",
    ),
    EventSpec(
        "sign_in.code_issued",
        1,
        "lindung.sign-in-codes",
        SignInCodeIssued,
        "person_id",
        "health-records",
        "A one-time sign-in code to deliver by SMS.",
    ),
    EventSpec(
        "sign_in.code_issued",
        2,
        "lindung.sign-in-codes",
        SignInCodeIssuedV2,
        "person_id",
        "health-records",
        "A one-time code to deliver by SMS; the phone and the code sealed.",
    ),
    EventSpec(
        "person.tokens_revoked",
        1,
        "lindung.token-revocations",
        TokensRevoked,
        "person_id",
        "health-records",
        "A person's tokens issued before now stop working (recovery, phone change, sign-out).",
    ),
    EventSpec(
        "status.changed",
        1,
        "lindung.health-status",
        StatusChanged,
        "person_id",
        "health-records",
        "A person's screening colour changed.",
    ),
    EventSpec(
        "case.confirmed",
        1,
        "lindung.cases",
        CaseConfirmed,
        "person_id",
        "health-records",
        "A positive result made a person a confirmed case.",
    ),
    EventSpec(
        "case.confirmed",
        2,
        "lindung.cases",
        CaseConfirmedV2,
        "person_id",
        "health-records",
        "A positive result (or a confirmed COVID-19 Condition) made a person a confirmed case; "
        "names the suspected case it confirms, if any.",
    ),
    EventSpec(
        "suspect.flagged",
        1,
        "lindung.cases",
        SuspectFlagged,
        "person_id",
        "health-records",
        "A provisional COVID-19 Condition made a person a suspected case (PDP).",
    ),
    EventSpec(
        "suspect.ruled_out",
        1,
        "lindung.cases",
        SuspectRuledOut,
        "person_id",
        "health-records",
        "A suspected case was refuted or withdrawn (not confirmed).",
    ),
    EventSpec(
        "case.retracted",
        1,
        "lindung.cases",
        CaseRetracted,
        "person_id",
        "health-records",
        "The result behind a case was retracted.",
    ),
    EventSpec(
        "fhir.vaccination.submitted",
        1,
        "lindung.feed.vaccinations",
        FhirResourceSubmitted,
        "source",
        "vaccination-registry",
        "A FHIR Immunization (or Bundle) from the vaccination registry.",
    ),
    EventSpec(
        "fhir.lab_result.submitted",
        1,
        "lindung.feed.lab-results",
        FhirResourceSubmitted,
        "source",
        "laboratory",
        "A FHIR Observation (or Bundle) from the laboratory system.",
    ),
    EventSpec(
        "fhir.entry.rejected",
        1,
        "lindung.dead-letter",
        FhirEntryRejected,
        "source_event_id",
        "health-records",
        "One entry of a feed message rejected alone (the others were applied), with its reason.",
    ),
    EventSpec(
        "exposure.detected",
        1,
        "lindung.exposures",
        ExposureDetected,
        "contact_person_id",
        "checkin",
        "A person was a close contact of a case.",
    ),
    EventSpec(
        "exposure.detected",
        2,
        "lindung.exposures",
        ExposureDetectedV2,
        "contact_person_id",
        "checkin",
        "A person was a close contact of a case; names the advisory it upgrades, if any.",
    ),
    EventSpec(
        "exposure.advised",
        1,
        "lindung.exposures",
        ExposureAdvised,
        "contact_person_id",
        "checkin",
        "A person was at a venue with a suspected case: watch for symptoms, get tested.",
    ),
    EventSpec(
        "exposure.advisory_withdrawn",
        1,
        "lindung.exposures",
        ExposureAdvisoryWithdrawn,
        "contact_person_id",
        "checkin",
        "An advisory was withdrawn: its suspected case was ruled out.",
    ),
    EventSpec(
        "exposure.retracted",
        1,
        "lindung.exposures",
        ExposureRetracted,
        "contact_person_id",
        "checkin",
        "An exposure was withdrawn with its case.",
    ),
    EventSpec(
        "venue.case_visited",
        1,
        "lindung.venue-alerts",
        VenueCaseVisited,
        "venue_id",
        "checkin",
        "A confirmed case visited the venue (for its manager).",
    ),
    EventSpec(
        "venue.case_visit_retracted",
        1,
        "lindung.venue-alerts",
        VenueCaseVisitRetracted,
        "venue_id",
        "checkin",
        "A case visit reported to the venue was withdrawn with its case.",
    ),
    EventSpec(
        "venue.suspect_visited",
        1,
        "lindung.venue-alerts",
        VenueSuspectVisited,
        "venue_id",
        "checkin",
        "A suspected case visited the venue (for its manager).",
    ),
    EventSpec(
        "venue.suspect_visit_withdrawn",
        1,
        "lindung.venue-alerts",
        VenueSuspectVisitWithdrawn,
        "venue_id",
        "checkin",
        "A suspected-case visit reported to the venue was withdrawn (ruled out).",
    ),
    EventSpec(
        "occupancy.changed",
        1,
        "lindung.occupancy",
        OccupancyChanged,
        "venue_id",
        "checkin",
        "A venue's present count changed (coalesced).",
    ),
    EventSpec(
        "venue.crowding",
        1,
        "lindung.occupancy",
        VenueCrowding,
        "venue_id",
        "checkin",
        "A venue crossed a crowding threshold (80 %, 100 %).",
    ),
    EventSpec(
        "zone.visitor_alert",
        1,
        "lindung.zone-alerts",
        ZoneVisitorAlert,
        "person_id",
        "checkin",
        "A person recently visited a regency that turned red.",
    ),
)

CATALOGUE: dict[tuple[str, int], EventSpec] = {(s.type, s.version): s for s in _SPECS}
LATEST_VERSION: dict[str, int] = {}
for _spec in _SPECS:
    LATEST_VERSION[_spec.type] = max(LATEST_VERSION.get(_spec.type, 0), _spec.version)

for _spec in _SPECS:  # the catalogue must be self-consistent; fail at import if it is not
    assert _spec.topic in TOPICS, f"{_spec.type}: unknown topic {_spec.topic}"
    assert _spec.key_field in _spec.payload.model_fields, f"{_spec.type}: bad key field"


def spec_for(event_type: str, version: int | None = None) -> EventSpec:
    if event_type not in LATEST_VERSION:
        raise UnknownEventType(f"unknown event type {event_type!r}")
    version = LATEST_VERSION[event_type] if version is None else version
    try:
        return CATALOGUE[(event_type, version)]
    except KeyError:
        known = sorted(v for (t, v) in CATALOGUE if t == event_type)
        raise UnsupportedEventVersion(
            f"{event_type} version {version} is not supported (known: {known})"
        ) from None


def make_event(
    event_type: str,
    payload: Payload,
    *,
    version: int | None = None,
    occurred_at: datetime | None = None,
    event_id: uuid.UUID | None = None,
) -> Envelope[Any]:
    """Build a validated envelope for ``payload``, keyed as the catalogue says. Without
    ``version``: the latest version whose payload model is ``payload``'s class (a producer
    picks the version by the model it builds)."""
    if version is None:
        matching = [
            v for (t, v), s in CATALOGUE.items() if t == event_type and type(payload) is s.payload
        ]
        version = max(matching) if matching else None
    spec = spec_for(event_type, version)
    if not isinstance(payload, spec.payload):
        raise TypeError(f"{event_type} v{spec.version} takes {spec.payload.__name__}")
    extra: dict[str, Any] = {}
    if occurred_at is not None:
        extra["occurred_at"] = occurred_at
    if event_id is not None:
        extra["id"] = event_id
    return Envelope[spec.payload](  # type: ignore[name-defined]
        type=spec.type,
        version=spec.version,
        producer=spec.producer,
        key=spec.key_of(payload),
        payload=payload,
        **extra,
    )


def decode_event(value: bytes | None) -> Envelope[Any]:
    """Decode and validate a message value; raises an ``EventError`` subclass if it is not a
    known, valid event."""
    raw = decode_raw(value)
    return validate_raw(raw)


def decode_known(value: bytes, event_type: str, version: int) -> Envelope[Any] | None:
    """One pass for a message whose headers name a catalogue (type, version): the envelope
    and its payload validated straight from the JSON bytes (no intermediate dicts; half the
    CPU of :func:`decode_raw` + :func:`validate_raw`). ``None`` if anything is off (the body
    names another type or version, lacks its id or time, or fails validation): the two-step
    path then gives the precise error."""
    spec = CATALOGUE.get((event_type, version))
    if spec is None:
        return None
    try:
        event = _envelope_of(spec.payload).model_validate_json(value)
    except ValueError:  # pydantic's ValidationError is one
        return None
    if (
        event.type != event_type
        or event.version != version
        or not event.model_fields_set >= _REQUIRED_ON_THE_WIRE
    ):
        return None
    return event


#: The envelope's defaults (a fresh id, now) are for making events, never for reading them.
_REQUIRED_ON_THE_WIRE = frozenset({"id", "occurred_at"})


def validate_raw(raw: RawEnvelope) -> Envelope[Any]:
    spec = spec_for(raw.type, raw.version)
    return validate_payload(spec.payload, raw)
