"""The feed endpoint's answer: a FHIR batch-response Bundle, one entry per submitted entry,
each with Lindung's verdict alongside the FHIR ``response``."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from lindung_health.feeds.service import EntryOutcome

EXAMPLE_BUNDLE: dict[str, Any] = {
    "resourceType": "Bundle",
    "type": "batch",
    "entry": [
        {
            "resource": {
                "resourceType": "Immunization",
                "identifier": [
                    {"system": "https://sehatindonesiaku.kemkes.go.id/vaccination", "value": "V-1"}
                ],
                "status": "completed",
                "vaccineCode": {
                    "coding": [{"system": "http://hl7.org/fhir/sid/cvx", "code": "511"}]
                },
                "patient": {
                    "identifier": {
                        "system": "https://fhir.kemkes.go.id/id/nik",
                        "value": "3171015705900012",
                    }
                },
                "occurrenceDateTime": "2021-07-01T10:00:00+07:00",
                "protocolApplied": [{"doseNumberPositiveInt": 1}],
            }
        },
        {
            "resource": {
                "resourceType": "Observation",
                "identifier": [{"system": "https://lab.example.id/result", "value": "L-9"}],
                "status": "final",
                "code": {"coding": [{"system": "http://loinc.org", "code": "94500-6"}]},
                "subject": {
                    "identifier": {
                        "system": "https://fhir.kemkes.go.id/id/nik",
                        "value": "3171015705900012",
                    }
                },
                "effectiveDateTime": "2026-11-20T08:00:00+07:00",
                "valueCodeableConcept": {
                    "coding": [{"system": "http://snomed.info/sct", "code": "260385009"}]
                },
            }
        },
        {
            # A suspected case (PDP): docs/suspects.md.
            "resource": {
                "resourceType": "Condition",
                "identifier": [{"system": "https://surveillance.example.id/pdp", "value": "PDP-3"}],
                "verificationStatus": {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                            "code": "provisional",
                        }
                    ]
                },
                "code": {"coding": [{"system": "http://snomed.info/sct", "code": "840539006"}]},
                "subject": {
                    "identifier": {
                        "system": "https://fhir.kemkes.go.id/id/nik",
                        "value": "3171015705900012",
                    }
                },
                "onsetDateTime": "2026-11-21T09:00:00+07:00",
            }
        },
    ],
}


_LOINC_REJECTION = "Observation.code has no accepted SARS-CoV-2 LOINC code"


class Issue(BaseModel):
    severity: Literal["error", "warning", "information"]
    code: Literal["invalid", "duplicate", "informational"]
    diagnostics: str


class OperationOutcome(BaseModel):
    resourceType: Literal["OperationOutcome"] = "OperationOutcome"  # noqa: N815
    issue: list[Issue]


class EntryResponse(BaseModel):
    status: str = Field(description="HTTP-like status of the entry: 201, 200 or 422")
    location: str | None = None
    outcome: OperationOutcome | None = None


class Verdict(BaseModel):
    result: Literal["accepted", "duplicate", "rejected", "ignored"]
    action: Literal["created", "replaced", "retracted"] | None = None
    reason: str | None = Field(default=None, description="machine code of a rejection")
    message: str | None = None
    record_id: uuid.UUID | None = None
    source_key: str | None = None


class ResponseEntry(BaseModel):
    response: EntryResponse
    lindung: Verdict


class FeedResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "resourceType": "Bundle",
                    "type": "batch-response",
                    "entry": [
                        {
                            "response": {
                                "status": "201 Created",
                                "location": "Immunization/0c8e3d0b-6a51-4a8e-9a43-9e1f3a0f2b11",
                            },
                            "lindung": {
                                "result": "accepted",
                                "action": "created",
                                "record_id": "0c8e3d0b-6a51-4a8e-9a43-9e1f3a0f2b11",
                            },
                        },
                        {
                            "response": {
                                "status": "422 Unprocessable Entity",
                                "outcome": {
                                    "resourceType": "OperationOutcome",
                                    "issue": [
                                        {
                                            "severity": "error",
                                            "code": "invalid",
                                            "diagnostics": _LOINC_REJECTION,
                                        }
                                    ],
                                },
                            },
                            "lindung": {
                                "result": "rejected",
                                "reason": "unknown-loinc-code",
                                "message": "Observation.code has no accepted SARS-CoV-2 LOINC code",
                            },
                        },
                    ],
                }
            ]
        }
    )

    resourceType: Literal["Bundle"] = "Bundle"  # noqa: N815
    type: Literal["batch-response", "transaction-response"] = "batch-response"
    entry: list[ResponseEntry]
    accepted: int
    duplicate: int
    rejected: int
    ignored: int = Field(
        default=0, description="entries accepted and not stored (Patient, Composition, ...)"
    )


def to_response(outcomes: list[EntryOutcome], bundle_type: str | None = None) -> FeedResponse:
    return FeedResponse(
        type="transaction-response" if bundle_type == "transaction" else "batch-response",
        entry=response_entries(outcomes),
        accepted=sum(1 for o in outcomes if o.result == "accepted"),
        duplicate=sum(1 for o in outcomes if o.result == "duplicate"),
        rejected=sum(1 for o in outcomes if o.result == "rejected"),
        ignored=sum(1 for o in outcomes if o.result == "ignored"),
    )


def response_entries(outcomes: list[EntryOutcome]) -> list[ResponseEntry]:
    entries = []
    for o in outcomes:
        location = f"{o.resource_type}/{o.record_id}" if o.record_id and o.resource_type else None
        if o.result == "accepted":
            status = "201 Created" if o.action == "created" else "200 OK"
            response = EntryResponse(status=status, location=location)
        elif o.result == "ignored":
            response = EntryResponse(
                status="200 OK",
                outcome=OperationOutcome(
                    issue=[
                        Issue(
                            severity="information",
                            code="informational",
                            diagnostics=o.message or "",
                        )
                    ]
                ),
            )
        elif o.result == "duplicate":
            response = EntryResponse(
                status="200 OK",
                location=location,
                outcome=OperationOutcome(
                    issue=[
                        Issue(severity="information", code="duplicate", diagnostics=o.message or "")
                    ]
                ),
            )
        else:
            response = EntryResponse(
                status="422 Unprocessable Entity",
                outcome=OperationOutcome(
                    issue=[Issue(severity="error", code="invalid", diagnostics=o.message or "")]
                ),
            )
        entries.append(
            ResponseEntry(
                response=response,
                lindung=Verdict(
                    result=o.result,
                    action=o.action,
                    reason=o.reason,
                    message=o.message,
                    record_id=o.record_id,
                    source_key=o.source_key,
                ),
            )
        )
    return entries
