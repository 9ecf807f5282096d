"""Dead letters carry the envelope's identity, ids and times, the error; nothing personal."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import orjson
from hypothesis import given
from hypothesis import strategies as st
from lindung_shared.events import encode_envelope, make_event
from lindung_shared.events.catalogue import (
    FhirResourceSubmitted,
    PersonContactChanged,
    SignInCodeIssued,
)
from lindung_shared.kafka.dead_letters import REDACTED, scrub_key, scrub_text, scrub_value

NOW = datetime.now(UTC)
_phone = st.from_regex(r"\+628[1-9][0-9]{8,10}", fullmatch=True)
_code = st.from_regex(r"[0-9]{6}", fullmatch=True)
_nik = st.from_regex(r"[1-9][0-9]{15}", fullmatch=True)
_name = st.text(alphabet=st.characters(categories=("Lu", "Ll")), min_size=3, max_size=20).map(
    lambda s: f"Ny. {s}"
)


@given(phone=_phone, code=_code)
def test_a_sign_in_code_keeps_its_ids_and_loses_phone_and_code(phone: str, code: str) -> None:
    person_id = uuid.uuid4()
    event = make_event(
        "sign_in.code_issued",
        SignInCodeIssued(
            person_id=person_id, phone_e164=phone, code=code, expires_at=NOW + timedelta(minutes=5)
        ),
        version=1,
    )
    raw = encode_envelope(event)
    letter = scrub_value(raw)
    assert phone.encode() not in letter and code.encode() not in letter
    value = orjson.loads(letter)
    assert value["id"] == str(event.id) and value["type"] == "sign_in.code_issued"
    assert value["version"] == 1 and value["producer"] == "health-records"
    assert value["key"] == str(person_id)
    assert value["payload"]["person_id"] == str(person_id)
    assert value["payload"]["phone_e164"] == REDACTED and value["payload"]["code"] == REDACTED
    assert value["payload"]["language"] == "id"


@given(phone=_phone)
def test_a_contact_change_loses_the_phone(phone: str) -> None:
    event = make_event(
        "person.contact_changed",
        PersonContactChanged(person_id=uuid.uuid4(), phone_e164=phone),
        version=1,
    )
    assert phone.encode() not in scrub_value(encode_envelope(event))


@given(nik=_nik, name=_name)
def test_a_feed_record_is_blanked_whole(nik: str, name: str) -> None:
    resource = {
        "resourceType": "Immunization",
        "patient": {"identifier": {"value": nik}, "display": name},
    }
    event = make_event(
        "fhir.vaccination.submitted",
        FhirResourceSubmitted(source="vaccination-registry", resource=resource),
    )
    letter = scrub_value(encode_envelope(event))
    assert nik.encode() not in letter and name.encode() not in letter
    assert orjson.loads(letter)["payload"] == {
        "source": "vaccination-registry",
        "resource": REDACTED,
    }


@given(nik=_nik, name=_name)
def test_anything_undecodable_keeps_only_its_size(nik: str, name: str) -> None:
    raw = f'{{"nik": "{nik}", "name": "{name}"'.encode()  # broken JSON
    letter = orjson.loads(scrub_value(raw))
    assert letter == {"format": "lindung-dead-letter-v1", "undecodable": True, "size": len(raw)}
    odd = orjson.dumps({"type": name, "key": nik, "payload": [nik], "producer": nik})
    scrubbed = scrub_value(odd)
    assert nik.encode() not in scrubbed


@given(nik=_nik, phone=_phone, name=_name)
def test_error_messages_lose_values(nik: str, phone: str, name: str) -> None:
    message = (
        f'IntegrityError: duplicate key value violates unique constraint "uq_people"\n'
        f"DETAIL:  Key (nik)=({nik}) already exists.\n"
        f"[SQL: INSERT INTO people (name, phone) VALUES ($1, $2)]\n"
        f"[parameters: ('{name}', '{phone}')]\n"
        f"ValueError: person '{name}' with phone {phone} and NIK {nik}"
    )
    scrubbed = scrub_text(message)
    for secret in (nik, phone, name):
        assert secret not in scrubbed
    assert "IntegrityError" in scrubbed and "INSERT INTO people" in scrubbed


def test_keys_that_are_ids_stay_and_others_go() -> None:
    person = str(uuid.uuid4()).encode()
    assert scrub_key(person) == person
    assert scrub_key(b"laboratory") == b"laboratory"
    assert scrub_key(b"3171") == b"3171"
    assert scrub_key(b"3171015912745995") == REDACTED.encode()
    assert scrub_key(None) is None
