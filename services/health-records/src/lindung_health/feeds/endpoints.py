"""The HTTP door of the national feeds."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body
from lindung_shared.auth import FeedDep
from lindung_shared.db import SessionDep
from lindung_shared.errors import Problem, Unprocessable

from lindung_health.deps import ToolkitDep, utcnow
from lindung_health.feeds import service
from lindung_health.feeds.schemas import (
    EXAMPLE_BUNDLE,
    FeedResponse,
    response_entries,
    to_response,
)

router = APIRouter(prefix="/v1/feeds", tags=["feeds"])

MAX_ENTRIES = 1000


class PayloadTooLarge(Problem):
    status, code, title = 413, "too-many-entries", "Too many entries"


@router.post(
    "/fhir",
    summary="Submit a FHIR R4 Bundle of Immunization, Observation and DiagnosticReport records "
    "(role feed)",
    description=(
        "Batch, collection and document Bundles: every entry is answered on its own, like a "
        "FHIR batch-response: accepted (201 created, 200 replaced or retracted), duplicate "
        "(200), ignored (200: Patient, Composition, Organization, Practitioner... are accepted "
        "and not stored; a Patient lends its NIK to the records that reference it) or rejected "
        "(422 with the reason). Rejected entries write nothing; the others are committed "
        "together. A transaction Bundle is all or nothing: one rejected entry and nothing is "
        "applied (422 `transaction-rejected` listing every entry's verdict). The same code path "
        "serves the Kafka topics `lindung.feed.vaccinations` and `lindung.feed.lab-results`."
    ),
    responses={
        422: {
            "description": "the body is not a FHIR Bundle, or a transaction Bundle had a "
            "rejected entry (nothing applied)"
        }
    },
)
async def submit_bundle(
    bundle: Annotated[dict[str, Any], Body(openapi_examples={"batch": {"value": EXAMPLE_BUNDLE}})],
    principal: FeedDep,
    session: SessionDep,
    toolkit: ToolkitDep,
) -> FeedResponse:
    if bundle.get("resourceType") != "Bundle":
        raise Unprocessable(
            "POST a FHIR Bundle (type batch, transaction or collection) of records",
            code="not-a-bundle",
        )
    entries = bundle.get("entry")
    if isinstance(entries, list) and len(entries) > MAX_ENTRIES:
        raise PayloadTooLarge(f"at most {MAX_ENTRIES} entries per Bundle")
    result = await service.ingest_submission(
        session, toolkit, bundle, f"feed-api:{principal.subject}", utcnow()
    )
    if result.failed_transaction:
        bad = [o.index for o in result.rejected if o.reason != "transaction-failed"]
        raise Unprocessable(
            f"transaction Bundle: entries {', '.join(map(str, bad))} rejected, so nothing was "
            "applied",
            code="transaction-rejected",
            extra={
                "entry": [
                    e.model_dump(mode="json", exclude_none=True)
                    for e in response_entries(result.outcomes)
                ]
            },
        )
    return to_response(result.outcomes, result.bundle_type)
