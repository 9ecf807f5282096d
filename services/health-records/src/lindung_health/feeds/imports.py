"""Bulk imports: NDJSON files of FHIR resources (Patient, Immunization, Observation,
DiagnosticReport), one per line, as FHIR Bulk Data exports them, applied as an asynchronous job.

1. ``POST /v1/feeds/imports`` opens a job (state ``uploading``).
2. The client sends the file in parts of whole lines (``POST /v1/feeds/import-parts?job=&part=``,
   each bounded, so no request holds more than one part); each part's lines are staged in
   ``feed_import_lines`` with one COPY. A part sent twice is staged once.
3. ``POST /v1/feeds/imports/{id}/start`` queues it: ``202 Accepted`` and the status URL.
4. A health-records worker claims the job (``FOR UPDATE SKIP LOCKED``: one worker per job at a
   time) and applies its lines in chunks, in order, each chunk one transaction: the records
   stored and the statuses recomputed by the feed path itself (:func:`service.ingest_many`),
   the chunk's rejected lines written to ``feed_import_errors``, the counters and the cursor
   advanced and the chunk's staged lines deleted, all committed together. A worker killed
   mid-chunk leaves the last committed cursor: the next worker resumes there and no line is
   applied twice.
5. ``GET /v1/feeds/imports/{id}`` is the status (202 with ``X-Progress`` while it runs, 200
   when it is complete); ``GET /v1/feeds/imports/{id}/errors`` streams the per-line errors as
   NDJSON ``OperationOutcome`` resources.

A Patient line lends its NIK (``Patient/{id}``) to the records of the same chunk that reference
it; records should carry the NIK on their reference (as the national feeds do) or follow their
Patient closely.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from lindung_health.feeds import service
from lindung_health.toolkit import Toolkit

log = logging.getLogger(__name__)

#: Lines applied per transaction by the worker.
CHUNK_LINES = 2000


@dataclass(frozen=True)
class ImportStatus:
    id: uuid.UUID
    source: str
    owner: str
    state: str
    lines_total: int
    lines_done: int
    accepted: int
    duplicate: int
    ignored: int
    rejected: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


async def create(session: AsyncSession, source: str, owner: str, now: datetime) -> uuid.UUID:
    job = uuid.uuid4()
    await session.execute(
        text(
            "INSERT INTO feed_imports (id, source, owner, created_at) "
            "VALUES (:id, :source, :owner, :now)"
        ),
        {"id": job, "source": source, "owner": owner, "now": now},
    )
    return job


async def get(session: AsyncSession, job: uuid.UUID) -> ImportStatus | None:
    row = (
        await session.execute(
            text(
                "SELECT id, source, owner, state, lines_total, lines_done, accepted, duplicate, "
                "ignored, rejected, created_at, started_at, finished_at FROM feed_imports "
                "WHERE id = :id"
            ),
            {"id": job},
        )
    ).one_or_none()
    return ImportStatus(*row) if row is not None else None


def split_lines(body: bytes) -> list[str]:
    """The non-blank lines of an NDJSON part, decoded (invalid UTF-8 is replaced, and the line
    is then rejected as JSON by the worker)."""
    return [line for line in body.decode("utf-8", errors="replace").splitlines() if line.strip()]


async def add_part(session: AsyncSession, job: uuid.UUID, part: int, lines: list[str]) -> bool:
    """Stage a part's lines (one COPY); False if this part was staged before."""
    taken = (
        await session.execute(
            text(
                "INSERT INTO feed_import_parts (import_id, part, lines) VALUES (:id, :part, :n) "
                "ON CONFLICT DO NOTHING RETURNING part"
            ),
            {"id": job, "part": part, "n": len(lines)},
        )
    ).scalar_one_or_none()
    if taken is None:
        return False
    connection = await session.connection()
    raw = (await connection.get_raw_connection()).driver_connection
    assert raw is not None
    await raw.copy_records_to_table(
        "feed_import_lines",
        records=[(job, part, n, line) for n, line in enumerate(lines)],
        columns=["import_id", "part", "line", "body"],
    )
    await session.execute(
        text("UPDATE feed_imports SET lines_total = lines_total + :n WHERE id = :id"),
        {"id": job, "n": len(lines)},
    )
    return True


async def start(session: AsyncSession, job: uuid.UUID) -> None:
    await session.execute(
        text("UPDATE feed_imports SET state = 'queued' WHERE id = :id AND state = 'uploading'"),
        {"id": job},
    )


_CLAIM = text(
    "SELECT id, source, cursor_part, cursor_line FROM feed_imports "
    "WHERE state IN ('queued', 'running') ORDER BY created_at LIMIT 1 FOR UPDATE SKIP LOCKED"
)
_LINES = text(
    "SELECT part, line, body FROM feed_import_lines WHERE import_id = :id "
    "AND (part, line) > (:part, :line) ORDER BY part, line LIMIT :limit"
)


async def run_chunk(
    session: AsyncSession, tk: Toolkit, now: datetime, limit: int = CHUNK_LINES
) -> int | None:
    """Apply the next chunk of the oldest pending import (in the caller's transaction); the
    number of lines applied (0: the job had none left and is now completed; None: no job
    to work on)."""
    claimed = (await session.execute(_CLAIM)).one_or_none()
    if claimed is None:
        return None
    job, source, cursor_part, cursor_line = claimed
    rows = (
        await session.execute(
            _LINES, {"id": job, "part": cursor_part, "line": cursor_line, "limit": limit}
        )
    ).all()
    if not rows:
        await session.execute(
            text(
                "UPDATE feed_imports SET state = 'completed', finished_at = :now, "
                "started_at = coalesce(started_at, :now) WHERE id = :id"
            ),
            {"id": job, "now": now},
        )
        log.info("feed import completed", extra={"import_id": str(job)})
        return 0
    errors: list[dict[str, Any]] = []
    entries: list[dict[str, Any]] = []
    positions: list[tuple[int, int]] = []
    for part, line, body in rows:
        try:
            resource = orjson.loads(body)
        except orjson.JSONDecodeError:
            errors.append(_error(job, part, line, None, "invalid-json", "the line is not JSON"))
            continue
        entries.append({"resource": resource})
        if isinstance(resource, dict) and resource.get("resourceType") == "Patient":
            rid = resource.get("id")
            if isinstance(rid, str) and rid:
                entries[-1]["fullUrl"] = f"Patient/{rid}"
        positions.append((part, line))
    counts = {"accepted": 0, "duplicate": 0, "ignored": 0, "rejected": 0}
    if entries:
        bundle = {"resourceType": "Bundle", "type": "batch", "entry": entries}
        (result,) = await service.ingest_many(session, tk, [(bundle, source)], now)
        for outcome in result.outcomes:
            counts[outcome.result] += 1
            if outcome.result == "rejected":
                part, line = positions[outcome.index]
                errors.append(
                    _error(
                        job,
                        part,
                        line,
                        outcome.resource_type,
                        outcome.reason or "rejected",
                        outcome.message or "",
                    )
                )
    counts["rejected"] += sum(1 for e in errors if e["reason"] == "invalid-json")
    if errors:
        await session.execute(
            text(
                "INSERT INTO feed_import_errors "
                "(import_id, part, line, resource_type, reason, message) "
                "VALUES (:import_id, :part, :line, :resource_type, :reason, :message) "
                "ON CONFLICT DO NOTHING"
            ),
            errors,
        )
    last_part, last_line = rows[-1][0], rows[-1][1]
    await session.execute(
        text(
            "DELETE FROM feed_import_lines WHERE import_id = :id AND (part, line) <= (:part, :line)"
        ),
        {"id": job, "part": last_part, "line": last_line},
    )
    await session.execute(
        text(
            "UPDATE feed_imports SET state = 'running', started_at = coalesce(started_at, :now), "
            "cursor_part = :part, cursor_line = :line, lines_done = lines_done + :n, "
            "accepted = accepted + :accepted, duplicate = duplicate + :duplicate, "
            "ignored = ignored + :ignored, rejected = rejected + :rejected WHERE id = :id"
        ),
        {"id": job, "now": now, "part": last_part, "line": last_line, "n": len(rows), **counts},
    )
    return len(rows)


def _error(
    job: uuid.UUID, part: int, line: int, resource_type: str | None, reason: str, message: str
) -> dict[str, Any]:
    return {
        "import_id": job,
        "part": part,
        "line": line,
        "resource_type": resource_type,
        "reason": reason,
        "message": message,
    }


async def drain(sessionmaker: async_sessionmaker[AsyncSession], tk: Toolkit, clock: Any) -> int:
    """Apply pending imports chunk after chunk until none is left (the worker's periodic task);
    each chunk its own transaction. Returns the lines applied."""
    total = 0
    while True:
        async with sessionmaker() as session, session.begin():
            done = await run_chunk(session, tk, clock())
        if done is None:
            return total
        total += done


async def errors_of(
    session: AsyncSession, job: uuid.UUID, after: tuple[int, int], limit: int
) -> list[Any]:
    """A page of the job's errors, with each line's number in the whole upload (1-based)."""
    return list(
        (
            await session.execute(
                text(
                    "SELECT e.part, e.line, e.resource_type, e.reason, e.message, "
                    "coalesce((SELECT sum(p.lines) FROM feed_import_parts p "
                    "WHERE p.import_id = e.import_id AND p.part < e.part), 0) + e.line + 1 "
                    "AS number FROM feed_import_errors e WHERE e.import_id = :id "
                    "AND (e.part, e.line) > (:part, :line) ORDER BY e.part, e.line LIMIT :limit"
                ),
                {"id": job, "part": after[0], "line": after[1], "limit": limit},
            )
        ).all()
    )
