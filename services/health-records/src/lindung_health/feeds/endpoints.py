"""The HTTP door of the national feeds."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Body, Query, Request, Response
from fastapi.responses import StreamingResponse
from lindung_shared.auth import FeedDep, Principal
from lindung_shared.db import SessionDep
from lindung_shared.errors import Conflict, NotFound, Problem, Unprocessable
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from lindung_health.deps import ToolkitDep, utcnow
from lindung_health.feeds import imports, service
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


# -- Bulk imports (FHIR Bulk Data style NDJSON) ---------------------------------------------

#: Largest part of an NDJSON upload (whole lines); a file is sent in as many parts as it needs.
IMPORT_PART_BYTES = 16 * 1024 * 1024
IMPORT_PARTS_PATH = "/v1/feeds/import-parts"


class ImportRequest(BaseModel):
    source: str | None = Field(
        None,
        max_length=200,
        description="Names the feed the records come from (default: feed-api:<your subject>)",
        examples=["vaccination-registry-backfill"],
    )


class ImportProgress(BaseModel):
    id: uuid.UUID
    state: Literal["uploading", "queued", "running", "completed", "cancelled"]
    source: str
    lines_total: int
    lines_done: int
    progress: float = Field(description="lines applied / lines uploaded, 0..1")
    accepted: int
    duplicate: int
    ignored: int
    rejected: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    status_url: str
    parts_url: str
    errors_url: str = Field(description="NDJSON of OperationOutcome, one per rejected line")


def _progress(job: imports.ImportStatus) -> ImportProgress:
    return ImportProgress(
        id=job.id,
        state=job.state,  # type: ignore[arg-type]
        source=job.source,
        lines_total=job.lines_total,
        lines_done=job.lines_done,
        progress=round(job.lines_done / job.lines_total, 4) if job.lines_total else 0.0,
        accepted=job.accepted,
        duplicate=job.duplicate,
        ignored=job.ignored,
        rejected=job.rejected,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        status_url=f"/v1/feeds/imports/{job.id}",
        parts_url=f"{IMPORT_PARTS_PATH}?job={job.id}&part={{n}}",
        errors_url=f"/v1/feeds/imports/{job.id}/errors",
    )


async def _own_job(
    session: AsyncSession, job_id: uuid.UUID, principal: Principal
) -> imports.ImportStatus:
    job = await imports.get(session, job_id)
    if job is None or job.owner != principal.subject:
        raise NotFound("no such import")
    return job


@router.post(
    "/imports",
    status_code=201,
    summary="Open a bulk import of NDJSON feed files (role feed)",
    description=(
        "FHIR Bulk Data style backfill: open the job, send the NDJSON (one Patient, "
        "Immunization, Observation or DiagnosticReport per line) in parts of whole lines to "
        "`parts_url`, then `POST .../start`. The records go through the feed path (the same "
        "validation, storage and status recomputation); progress at `status_url`, the "
        "rejected lines at `errors_url`. `lindung feeds import FILE...` does all of it."
    ),
)
async def open_import(
    body: ImportRequest, principal: FeedDep, session: SessionDep
) -> ImportProgress:
    job_id = await imports.create(
        session, body.source or f"feed-api:{principal.subject}", principal.subject, utcnow()
    )
    job = await imports.get(session, job_id)
    assert job is not None
    return _progress(job)


@router.post(
    "/import-parts",
    summary="Send one part of an import's NDJSON (whole lines, at most 16 MiB; role feed)",
    description=(
        "Parts are numbered from 0 in file order; a part sent again is staged once "
        "(`staged: false`). Blank lines are skipped."
    ),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/fhir+ndjson": {
                    "schema": {"type": "string"},
                    "example": '{"resourceType": "Immunization", "...": "..."}\n',
                }
            },
        }
    },
)
async def send_part(
    request: Request,
    principal: FeedDep,
    session: SessionDep,
    job: Annotated[uuid.UUID, Query()],
    part: Annotated[int, Query(ge=0, le=1_000_000)],
) -> dict[str, Any]:
    found = await _own_job(session, job, principal)
    if found.state != "uploading":
        raise Conflict(f"the import is {found.state}: parts are taken while it is uploading")
    lines = imports.split_lines(await request.body())
    staged = await imports.add_part(session, job, part, lines)
    return {"job": str(job), "part": part, "lines": len(lines), "staged": staged}


@router.post(
    "/imports/{job_id}/start",
    status_code=202,
    summary="Start applying an uploaded import (role feed): 202 and the status URL",
)
async def start_import(
    job_id: uuid.UUID, principal: FeedDep, session: SessionDep, response: Response
) -> ImportProgress:
    await _own_job(session, job_id, principal)
    await imports.start(session, job_id)
    job = await imports.get(session, job_id)
    assert job is not None
    response.headers["Content-Location"] = f"/v1/feeds/imports/{job_id}"
    return _progress(job)


@router.get(
    "/imports/{job_id}",
    summary="An import's status (role feed): 202 with X-Progress while it runs, 200 when done",
    responses={202: {"description": "uploading, queued or running", "model": ImportProgress}},
)
async def import_status(
    job_id: uuid.UUID, principal: FeedDep, session: SessionDep, response: Response
) -> ImportProgress:
    job = await _own_job(session, job_id, principal)
    progress = _progress(job)
    if job.state != "completed":
        response.status_code = 202
        response.headers["X-Progress"] = f"{job.state}: {job.lines_done} of {job.lines_total} lines"
        response.headers["Retry-After"] = "2"
    return progress


@router.get(
    "/imports/{job_id}/errors",
    summary="An import's rejected lines (role feed): NDJSON of OperationOutcome, streamed",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/fhir+ndjson": {}}}},
)
async def import_errors(
    job_id: uuid.UUID, principal: FeedDep, session: SessionDep, request: Request
) -> StreamingResponse:
    await _own_job(session, job_id, principal)
    sessionmaker = request.app.state.sessionmaker

    async def lines() -> AsyncIterator[bytes]:
        after = (-1, -1)
        while True:
            async with sessionmaker() as own:
                page = await imports.errors_of(own, job_id, after, 1000)
            for part, line, resource_type, reason, message, number in page:
                yield (
                    orjson.dumps(
                        {
                            "resourceType": "OperationOutcome",
                            "issue": [
                                {
                                    "severity": "error",
                                    "code": "invalid",
                                    "details": {"coding": [{"code": reason}]},
                                    "diagnostics": message,
                                    "expression": [f"line {number}"],
                                }
                            ],
                            "extension": [
                                {
                                    "url": "https://lindung.id/fhir/import-line",
                                    "valueInteger": int(number),
                                },
                                *(
                                    [
                                        {
                                            "url": "https://lindung.id/fhir/resource-type",
                                            "valueCode": resource_type,
                                        }
                                    ]
                                    if resource_type
                                    else []
                                ),
                            ],
                        }
                    )
                    + b"\n"
                )
                after = (part, line)
            if len(page) < 1000:
                return

    return StreamingResponse(lines(), media_type="application/fhir+ndjson")
