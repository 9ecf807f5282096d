"""De-identification of stored feed records: no person left, the clinical facts kept."""

from __future__ import annotations

import copy
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from fhir.resources.R4B.immunization import Immunization
from fhir.resources.R4B.observation import Observation
from hypothesis import given, settings
from hypothesis import strategies as st
from lindung_health.feeds.codes import NIK_SYSTEM
from lindung_health.feeds.deidentify import MASKED_REFERENCE, deidentify
from lindung_health.feeds.fhir import parse_record
from lindung_health.people.nik import RegionCodes
from lindung_health.testing import immunization, new_nik, observation

NOW = datetime.now(UTC)
REGIONS = RegionCodes()

# Personal data of every kind a feed may put in a record, at every place FHIR allows it.
_name = st.text(alphabet=st.characters(categories=("Lu", "Ll")), min_size=3, max_size=20).map(
    lambda s: f"Ny. {s}"
)
_phone = st.from_regex(r"\+628[1-9][0-9]{8,10}", fullmatch=True)
_street = st.from_regex(r"Jl\. [A-Z][a-z]{4,10} No\. [1-9][0-9]?", fullmatch=True)


def _personal(record: dict[str, Any], nik: str, name: str, phone: str, street: str) -> None:
    subject = "patient" if record["resourceType"] == "Immunization" else "subject"
    record[subject] = {
        "reference": "#p1",
        "identifier": {"system": NIK_SYSTEM, "value": nik},
        "display": name,
    }
    record["contained"] = [
        {
            "resourceType": "Patient",
            "id": "p1",
            "identifier": [{"system": NIK_SYSTEM, "value": nik}],
            "name": [{"text": name, "given": [name]}],
            "telecom": [{"system": "phone", "value": phone}],
            "address": [{"line": [street], "city": "Jakarta"}],
            "birthDate": "1990-01-01",
        }
    ]
    record["identifier"].append({"system": NIK_SYSTEM, "value": nik})
    record["text"] = {"status": "generated", "div": f"<div>{name} {nik} {phone}</div>"}
    record["note"] = [{"text": f"called {name} on {phone}", "authorString": name}]
    record["performer"] = [{"actor": {"reference": "Practitioner/1", "display": name}}]
    record["extension"] = [{"url": "https://example.id/home", "valueString": street}]
    record["meta"] = {
        "versionId": "2",
        "source": "https://lab.example.id",
        "tag": [{"code": "x", "display": name}],
    }
    if record["resourceType"] == "Observation":
        record["specimen"] = {"reference": "Specimen/1", "display": f"swab of {name}"}
        record["code"]["text"] = f"PCR for {name}"
    else:
        record["protocolApplied"][0]["authority"] = {"display": name}


def _records(nik: str, ident: str = "") -> list[dict[str, Any]]:
    ident = ident or str(uuid.uuid4())
    return [
        immunization(nik, ident=f"v-{ident}", when=NOW - timedelta(days=30), dose=1),
        observation(nik, ident=f"o-{ident}", when=NOW - timedelta(days=1)),
    ]


@settings(max_examples=40, deadline=None)
@given(name=_name, phone=_phone, street=_street)
def test_nothing_personal_survives(name: str, phone: str, street: str) -> None:
    nik, _ = new_nik()
    for record in _records(nik):
        _personal(record, nik, name, phone, street)
        stored = json.dumps(deidentify(record), ensure_ascii=False)
        for secret in (nik, name, phone, street, "1990-01-01"):
            assert secret not in stored, (secret, stored)


@settings(max_examples=25, deadline=None)
@given(name=_name, phone=_phone, street=_street)
def test_the_clinical_facts_are_kept_and_it_stays_valid_fhir(
    name: str, phone: str, street: str
) -> None:
    nik, _ = new_nik()
    for record in _records(nik):
        before = parse_record(copy.deepcopy(record), REGIONS, NOW)
        _personal(record, nik, name, phone, street)
        stored = deidentify(record)
        # Still the same FHIR resource, and what the screening reads from it is unchanged.
        model = Immunization if record["resourceType"] == "Immunization" else Observation
        model.model_validate(stored)
        if record["resourceType"] == "Immunization":
            for field in ("status", "vaccineCode", "occurrenceDateTime"):
                assert stored[field] == record[field]
            assert stored["protocolApplied"] == [{"doseNumberPositiveInt": 1}]
        if record["resourceType"] == "Observation":
            assert stored["code"] == {"coding": record["code"]["coding"]}
            for field in ("status", "effectiveDateTime", "valueCodeableConcept"):
                assert stored[field] == record[field]
        assert stored["identifier"] == [record["identifier"][0]]
        assert stored["meta"] == {"versionId": "2", "source": "https://lab.example.id"}
        subject = "patient" if record["resourceType"] == "Immunization" else "subject"
        assert stored[subject] == MASKED_REFERENCE
        assert before.source_key.endswith(record["identifier"][0]["value"])


@settings(max_examples=25, deadline=None)
@given(name=_name, phone=_phone, street=_street)
def test_idempotent(name: str, phone: str, street: str) -> None:
    nik, _ = new_nik()
    for record in _records(nik):
        _personal(record, nik, name, phone, street)
        once = deidentify(record)
        assert deidentify(once) == once


def test_a_record_identifier_spelling_the_nik_is_dropped() -> None:
    nik, _ = new_nik()
    for record in _records(nik, ident=f"x{nik}x"):
        stored = deidentify(record)
        assert "identifier" not in stored
        assert nik not in json.dumps(stored)


def test_does_not_touch_its_input() -> None:
    nik, _ = new_nik()
    record = _records(nik)[0]
    original = copy.deepcopy(record)
    deidentify(record)
    assert record == original


def test_unknown_resource_types_keep_only_their_identity() -> None:
    patient = {
        "resourceType": "Patient",
        "id": "1",
        "name": [{"text": "Siti"}],
        "telecom": [{"system": "phone", "value": "+6281234567890"}],
    }
    assert deidentify(patient) == {"resourceType": "Patient", "id": "1"}
