import uuid
from datetime import UTC, datetime

import orjson
import pytest
from lindung_shared.events import (
    CATALOGUE,
    TOPICS,
    InvalidPayload,
    MalformedEnvelope,
    UnknownEventType,
    UnsupportedEventVersion,
    decode_event,
    encode_envelope,
    make_event,
)
from lindung_shared.events.catalogue import (
    CaseConfirmed,
    CaseConfirmedV2,
    StatusChanged,
    ZoneLevelChanged,
    decode_known,
)

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


def zone_event():
    return make_event(
        "zone.level_changed",
        ZoneLevelChanged(regency_code="3171", level=4, colour="red", changed_at=NOW),
    )


def test_round_trip_keeps_every_field():
    event = zone_event()
    decoded = decode_event(encode_envelope(event))
    assert decoded == event
    assert decoded.key == "3171"
    assert decoded.producer == "venue-registry"


def test_every_catalogue_entry_names_a_known_topic_with_partitions():
    for spec in CATALOGUE.values():
        assert TOPICS[spec.topic].partitions >= 1


def test_key_comes_from_the_catalogue_key_field():
    person = uuid.uuid4()
    event = make_event(
        "status.changed",
        StatusChanged(person_id=person, colour="black", rule_version="v1", changed_at=NOW),
    )
    assert event.key == str(person)


def test_wrong_payload_model_is_refused_when_producing():
    with pytest.raises(TypeError):
        make_event("status.changed", zone_event().payload)


def test_the_payload_model_picks_the_version():
    fields = dict(
        case_id=uuid.uuid4(),
        case_ref="C-AAAAAAAA",
        person_id=uuid.uuid4(),
        sample_taken_at=NOW,
        infectious_from=NOW,
        infectious_until=NOW,
    )
    assert make_event("case.confirmed", CaseConfirmed(**fields)).version == 1
    v2 = make_event("case.confirmed", CaseConfirmedV2(**fields, suspect_ref="S-AAAAAAAA"))
    assert v2.version == 2
    decoded = decode_event(encode_envelope(v2))
    assert isinstance(decoded.payload, CaseConfirmedV2)
    assert decoded.payload.suspect_ref == "S-AAAAAAAA"
    with pytest.raises(TypeError):
        make_event("case.confirmed", CaseConfirmed(**fields), version=2)


def _mutated(**changes):
    data = orjson.loads(encode_envelope(zone_event()))
    data.update(changes)
    return orjson.dumps(data)


def test_unknown_version_is_rejected_not_misread():
    with pytest.raises(UnsupportedEventVersion, match="version 7"):
        decode_event(_mutated(version=7))


def test_unknown_type_is_rejected():
    with pytest.raises(UnknownEventType):
        decode_event(_mutated(type="venue.teleported"))


def test_invalid_payload_is_rejected_with_the_field():
    with pytest.raises(InvalidPayload, match="level"):
        decode_event(
            _mutated(
                payload={
                    "regency_code": "3171",
                    "level": 9,
                    "colour": "red",
                    "changed_at": NOW.isoformat(),
                }
            )
        )


def test_the_one_pass_decoding_gives_the_same_event_as_the_two_steps():
    for event in (
        zone_event(),
        make_event(
            "status.changed",
            StatusChanged(
                person_id=uuid.uuid4(), colour="black", rule_version="v1", changed_at=NOW
            ),
        ),
    ):
        value = encode_envelope(event)
        fast = decode_known(value, event.type, event.version)
        assert fast == decode_event(value) == event
        assert type(fast.payload) is type(event.payload)


def _without(field):
    data = orjson.loads(encode_envelope(zone_event()))
    del data[field]
    return orjson.dumps(data)


@pytest.mark.parametrize(
    ("value", "headers"),
    [
        # the headers name another type or version than the body
        (encode_envelope(zone_event()), ("status.changed", 1)),
        (encode_envelope(zone_event()), ("zone.level_changed", 2)),
        # what the envelope's defaults would fill in (a fresh id, now) must be on the wire
        (_without("id"), ("zone.level_changed", 1)),
        (_without("occurred_at"), ("zone.level_changed", 1)),
        (_mutated(occurred_at="2026-11-25T10:00:00"), ("zone.level_changed", 1)),  # naive
        (_mutated(payload={"regency_code": "3171", "level": 9}), ("zone.level_changed", 1)),
        (
            _mutated(payload={**orjson.loads(encode_envelope(zone_event()))["payload"], "x": 1}),
            ("zone.level_changed", 1),
        ),
        (b"not json", ("zone.level_changed", 1)),
        (encode_envelope(zone_event()), ("venue.teleported", 1)),
    ],
)
def test_the_one_pass_decoding_leaves_anything_off_to_the_two_steps(value, headers):
    assert decode_known(value, *headers) is None


@pytest.mark.parametrize("value", [None, b"", b"not json", b"[1,2]", b'{"type": "x"}'])
def test_malformed_envelopes_are_rejected(value):
    with pytest.raises(MalformedEnvelope):
        decode_event(value)


async def test_deadlocks_are_transient_and_bad_data_is_not(producer_db):
    """A deadlock retries the batch (never a dead letter); a constraint violation does not."""
    import asyncio

    from lindung_shared.db import create_engine
    from lindung_shared.kafka.consumer import is_transient
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    engine = create_engine(producer_db)
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE IF NOT EXISTS lockpair (id int PRIMARY KEY)"))
        await conn.execute(text("INSERT INTO lockpair VALUES (1), (2) ON CONFLICT DO NOTHING"))
    ready = asyncio.Barrier(2)

    async def lock(first: int, second: int) -> BaseException | None:
        try:
            async with engine.begin() as conn:
                await conn.execute(
                    text("SELECT 1 FROM lockpair WHERE id = :i FOR UPDATE"), {"i": first}
                )
                await ready.wait()
                await conn.execute(
                    text("SELECT 1 FROM lockpair WHERE id = :i FOR UPDATE"), {"i": second}
                )
        except DBAPIError as exc:
            return exc
        return None

    outcomes = await asyncio.gather(lock(1, 2), lock(2, 1))
    deadlocks = [e for e in outcomes if e is not None]
    assert len(deadlocks) == 1
    assert is_transient(deadlocks[0])
    with pytest.raises(DBAPIError) as duplicate:
        async with engine.begin() as conn:
            await conn.execute(text("INSERT INTO lockpair VALUES (1)"))
    assert not is_transient(duplicate.value)
    await engine.dispose()
