"""Request and response models of people, their status and records, and officer look-ups."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from lindung_shared.events import Colour, Language
from pydantic import BaseModel, ConfigDict, Field

_NIK_EXAMPLE = "3171015705900012"


class RegisterPerson(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "nik": _NIK_EXAMPLE,
                    "name": "Siti Rahayu",
                    "birth_date": "1990-05-17",
                    "phone": "+6281234567890",
                    "language": "id",
                }
            ]
        }
    )

    nik: str = Field(min_length=16, max_length=16, description="16-digit national id (NIK)")
    name: str = Field(min_length=1, max_length=200)
    birth_date: date = Field(description="must agree with the NIK's digits 7-12")
    phone: str = Field(
        min_length=6, max_length=32, description="mobile number, E.164 or Indonesian local form"
    )
    language: Language = Language.ID


class Registered(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"person_id": "5b0a4c2e-3f9b-4d6e-9a51-2f8f6f1d7c10", "created": True},
                {"person_id": None, "created": False},
            ]
        }
    )

    person_id: uuid.UUID | None = Field(
        description="opaque id: the subject of the person's tokens. Registration gives it only "
        "for a person it has just created; for a NIK already registered it is null (knowing a "
        "NIK and a phone number does not reveal whose id it is: sign in, the token answer "
        "carries it)"
    )
    created: bool = Field(description="false when the NIK was already registered")


class ContactUpdate(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"phone": "+6281298765432", "language": "en"}]}
    )

    phone: str | None = Field(default=None, min_length=6, max_length=32)
    language: Language | None = None


class StatusOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "person_id": "5b0a4c2e-3f9b-4d6e-9a51-2f8f6f1d7c10",
                    "colour": "black",
                    "reasons": ["quarantine"],
                    "valid_until": "2026-12-05T10:00:00Z",
                    "rule_version": "2020-01-v1",
                    "computed_at": "2026-11-21T10:00:00Z",
                }
            ]
        }
    )

    person_id: uuid.UUID
    colour: Colour
    reasons: list[str] = Field(
        description="isolation, quarantine, fully_vaccinated, booster, child_exempt, "
        "negative_test, partially_vaccinated, unvaccinated"
    )
    valid_until: datetime | None = Field(
        description="the decision holds at least until then; null: until the records change"
    )
    rule_version: str
    computed_at: datetime


class VaccinationOut(BaseModel):
    record_id: uuid.UUID
    administered_at: datetime | None
    vaccine_system: str | None
    vaccine_code: str | None
    dose_number: int | None
    status: str
    retracted: bool


class TestOut(BaseModel):
    record_id: uuid.UUID
    sampled_at: datetime | None
    test_type: Literal["pcr", "antigen"] | None
    loinc_code: str | None
    result: Literal["positive", "negative"] | None
    status: str
    retracted: bool


class CaseOut(BaseModel):
    case_ref: str
    sample_taken_at: datetime
    infectious_from: datetime
    infectious_until: datetime
    retracted: bool


class SuspectOut(BaseModel):
    """A suspected case (PDP) the person was: not a colour (docs/suspects.md)."""

    suspect_ref: str
    suspected_at: datetime
    state: Literal["suspected", "confirmed", "ruled_out"]
    resolution: Literal["confirmed", "refuted", "withdrawn"] | None = Field(
        default=None, description="how it ended (None while suspected)"
    )
    resolved_at: datetime | None = None


class RecordsOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "vaccinations": [
                        {
                            "record_id": "0c8e3d0b-6a51-4a8e-9a43-9e1f3a0f2b11",
                            "administered_at": "2021-07-01T03:00:00Z",
                            "vaccine_system": "http://hl7.org/fhir/sid/cvx",
                            "vaccine_code": "511",
                            "dose_number": 1,
                            "status": "completed",
                            "retracted": False,
                        }
                    ],
                    "tests": [],
                    "cases": [],
                }
            ]
        }
    )

    vaccinations: list[VaccinationOut]
    tests: list[TestOut]
    cases: list[CaseOut]
    suspected: list[SuspectOut] = Field(
        default_factory=list, description="suspected cases (PDP), open and resolved"
    )


class LookupRequest(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"nik": _NIK_EXAMPLE, "purpose": "contact tracing, case C-ABCDEFGH"}]
        }
    )

    nik: str = Field(min_length=16, max_length=16)
    purpose: str = Field(min_length=3, max_length=300, description="recorded in the audit log")


class LookupOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "person_id": "5b0a4c2e-3f9b-4d6e-9a51-2f8f6f1d7c10",
                    "nik": _NIK_EXAMPLE,
                    "name": "Siti Rahayu",
                    "birth_date": "1990-05-17",
                    "sex": "F",
                    "phone": "+6281234567890",
                    "status": StatusOut.model_config["json_schema_extra"]["examples"][0],  # type: ignore[index]
                    "records": {"vaccinations": [], "tests": [], "cases": []},
                }
            ]
        }
    )

    person_id: uuid.UUID
    nik: str
    name: str
    birth_date: date
    sex: Literal["F", "M"]
    phone: str
    status: StatusOut
    records: RecordsOut


class PhoneChange(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"phone": "+6281298765432"}]})

    phone: str = Field(min_length=6, max_length=32, description="the new number: a code goes there")


class CodeConfirmation(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"request_id": "9f1c2d3e-4b5a-4c6d-8e7f-0a1b2c3d4e5f", "code": "123456"}]
        }
    )

    request_id: uuid.UUID
    code: str = Field(pattern=r"^\d{6}$")


class RecoveryRequest(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "nik": _NIK_EXAMPLE,
                    "phone": "+6281298765432",
                    "purpose": "holder seen with KTP at Puskesmas Menteng; NIK taken by another",
                }
            ]
        }
    )

    nik: str = Field(min_length=16, max_length=16)
    phone: str = Field(min_length=6, max_length=32, description="the holder's phone")
    purpose: str = Field(min_length=3, max_length=300, description="recorded in the audit log")


class RecoveryConfirmation(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"code": "123456", "purpose": "holder read the code from their phone"}]
        }
    )

    code: str = Field(pattern=r"^\d{6}$")
    purpose: str = Field(min_length=3, max_length=300, description="recorded in the audit log")


class Recovered(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"person_id": "5b0a4c2e-3f9b-4d6e-9a51-2f8f6f1d7c10", "tokens_revoked": True}
            ]
        }
    )

    person_id: uuid.UUID
    tokens_revoked: bool = True
