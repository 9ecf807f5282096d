"""The lean validation (feeds.lean) gives the verdicts ``fhir.resources`` gives, for every element
Lindung reads: the same records, the same rejections with the same reasons, on realistic
entries and on random mutations of them (values replaced, names added or removed).
Pure: no database."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lindung_health.feeds.codes import NIK_SYSTEM, SNOMED
from lindung_health.feeds.service import parse_submission
from lindung_health.settings import Settings
from lindung_health.testing import bundle, condition, immunization, new_nik, observation
from lindung_health.toolkit import Toolkit

NOW = datetime.now(UTC)
TK = Toolkit.from_settings(Settings())
NIK, _ = new_nik()


def _report() -> dict[str, Any]:
    return {
        "resourceType": "DiagnosticReport",
        "id": "r1",
        "meta": {"source": "https://lab.example.id", "versionId": "2"},
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "94500-6"}]},
        "subject": {"reference": "urn:uuid:p1"},
        "effectivePeriod": {"start": (NOW - timedelta(days=2)).isoformat()},
        "conclusionCode": [{"coding": [{"system": SNOMED, "code": "10828004"}]}],
    }


def _patient() -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "identifier": [{"system": NIK_SYSTEM, "value": NIK}],
        "name": [{"text": "X"}],
    }


def _seeds() -> list[dict[str, Any]]:
    return [
        immunization(NIK, ident="i1", when=NOW - timedelta(days=30), dose=2, version="3"),
        immunization(
            NIK, ident="i2", when="2021-07-01", last_updated="2021-07-02T10:00:00.123+07:00"
        ),
        observation(NIK, ident="o1", when=NOW - timedelta(days=1), via_interpretation=True),
        observation(NIK, ident="o2", when=NOW - timedelta(days=1), status="entered-in-error"),
        _report(),
        _patient(),
        condition(NIK, ident="c1", when=NOW - timedelta(days=1), version="1"),
        condition(
            NIK,
            ident="c2",
            when="2026-11-20",
            verification="refuted",
            code="U07.2",
            system="http://hl7.org/fhir/sid/icd-10",
        ),
    ]


def verdicts(resource: Any, *, full: bool) -> list[tuple[Any, ...]]:
    parsed = parse_submission(TK, resource, NOW, full=full)
    out: list[tuple[Any, ...]] = [
        (i, o.result, o.reason) for i, o in sorted(parsed.outcomes.items())
    ]
    out += [
        (
            i,
            "record",
            r.source_key,
            r.fhir_status,
            r.retracted,
            r.version_id,
            r.last_updated,
            r.occurred_at,
            r.vaccine_code,
            r.dose_number,
            r.loinc_code,
            r.result,
        )
        for i, r in parsed.records
    ]
    return sorted(out, key=repr)


def test_the_fixtures_agree() -> None:
    submission = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"fullUrl": "urn:uuid:p1", "resource": _patient()}]
        + [{"resource": r} for r in _seeds()],
    }
    lean = verdicts(submission, full=False)
    assert lean == verdicts(submission, full=True)
    assert sum(1 for v in lean if v[1] == "record") == 7


# Values a feed gets wrong: wrong types, empty, blank, partial dates, naive times, nonsense.
WRONG = st.sampled_from(
    [
        None,
        "",
        " ",
        "x y",
        " lead",
        5,
        -1,
        0,
        1.5,
        True,
        [],
        {},
        [{}],
        {"foo": 1},
        "2021",
        "2021-07",
        "2021-02-30",
        "2021-07-01T10:00:00",
        "2021-07-01T10:00:00Z",
        "2021-07-01T25:00:00+07:00",
        "2021-07-01T10:00:00.1234567+07:00",
        "not a date",
        "a" * 70,
        "has\ttab",
        "http://x y",
        [{"system": SNOMED, "code": "10828004"}],
        {"coding": [{"system": SNOMED, "code": "10828004"}]},
        {"coding": "x"},
        {"system": NIK_SYSTEM, "value": NIK},
        {"identifier": {"system": NIK_SYSTEM, "value": 5}},
    ]
)

# The elements Lindung reads, and the paths inside them; mutations land on these.
READ = {
    "Immunization": [
        ("identifier", 0, "system"),
        ("identifier", 0, "value"),
        ("identifier", 0),
        ("identifier",),
        ("status",),
        ("vaccineCode",),
        ("vaccineCode", "coding"),
        ("vaccineCode", "coding", 0, "code"),
        ("vaccineCode", "coding", 0, "system"),
        ("patient",),
        ("patient", "identifier"),
        ("patient", "identifier", "value"),
        ("occurrenceDateTime",),
        ("occurrenceString",),
        ("protocolApplied",),
        ("protocolApplied", 0, "doseNumberPositiveInt"),
        ("protocolApplied", 0, "doseNumberString"),
        ("meta",),
        ("meta", "versionId"),
        ("meta", "lastUpdated"),
        ("meta", "source"),
        ("id",),
        ("unknownElement",),
    ],
    "Observation": [
        ("identifier", 0, "value"),
        ("status",),
        ("code",),
        ("code", "coding", 0, "code"),
        ("subject",),
        ("subject", "identifier", "system"),
        ("effectiveDateTime",),
        ("effectiveInstant",),
        ("effectivePeriod",),
        ("valueCodeableConcept",),
        ("valueCodeableConcept", "coding", 0, "code"),
        ("valueString",),
        ("interpretation",),
        ("interpretation", 0, "coding"),
        ("meta", "lastUpdated"),
        ("_status",),
        ("unknownElement",),
    ],
    "DiagnosticReport": [
        ("status",),
        ("code",),
        ("subject",),
        ("effectiveDateTime",),
        ("effectivePeriod", "start"),
        ("effectivePeriod", "end"),
        ("conclusionCode",),
        ("conclusionCode", 0, "coding", 0, "system"),
        ("meta", "versionId"),
        ("meta", "source"),
        ("id",),
    ],
    "Patient": [("identifier",), ("identifier", 0, "value"), ("identifier", 0, "system")],
}


def _put(resource: dict[str, Any], path: tuple[Any, ...], value: Any, delete: bool) -> None:
    node: Any = resource
    for step in path[:-1]:
        if isinstance(node, dict) and isinstance(step, str):
            node = node.setdefault(
                step, [{}] if isinstance(path[path.index(step) + 1], int) else {}
            )
        elif isinstance(node, list) and isinstance(step, int):
            while len(node) <= step:
                node.append({})
            node = node[step]
        else:
            return
    last = path[-1]
    if isinstance(node, dict) and isinstance(last, str):
        if delete:
            node.pop(last, None)
        else:
            node[last] = value
    elif isinstance(node, list) and isinstance(last, int) and last < len(node):
        if delete:
            node.pop(last)
        else:
            node[last] = value


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 5),
    mutations=st.lists(
        st.tuples(st.integers(0, 100), WRONG, st.booleans()), min_size=1, max_size=3
    ),
)
def test_mutations_agree(seed: int, mutations: list[tuple[int, Any, bool]]) -> None:
    resource = copy.deepcopy(_seeds()[seed])
    paths = READ[resource["resourceType"]]
    for pick, value, delete in mutations:
        _put(resource, paths[pick % len(paths)], copy.deepcopy(value), delete and pick % 3 == 0)
    entries = [{"fullUrl": "urn:uuid:p1", "resource": _patient()}, {"resource": resource}]
    submission = {"resourceType": "Bundle", "type": "batch", "entry": entries}
    assert verdicts(submission, full=False) == verdicts(submission, full=True), resource


def test_a_bare_bundle_of_fixtures_agrees() -> None:
    b = bundle(*_seeds())
    assert verdicts(b, full=False) == verdicts(b, full=True)


def test_a_primitive_extension_of_the_wrong_type_is_invalid_not_a_crash() -> None:
    # fhir.resources itself raised AttributeError here (a 500 over HTTP before the lean models).
    bad = observation(NIK, ident="o9", when=NOW - timedelta(days=1))
    bad["_status"] = "2021"
    for full in (False, True):
        assert verdicts(bundle(bad), full=full) == [(0, "rejected", "invalid-fhir")]
