"""Applying many feed records at once with set-based SQL.

The same decisions as :func:`lindung_health.feeds.service._store` taken one record at a time,
taken for a whole batch with a handful of statements:

1. the people of the batch's NIKs, one ``SELECT``;
2. the stored versions of the batch's records, one ``SELECT ... FOR UPDATE`` (in key order);
3. in Python, each record in arrival order against the stored or already-batched version of
   its key: created, replaced (newer), retracted or duplicate (:func:`service.is_newer`);
4. the new records, one ``INSERT ... ON CONFLICT DO NOTHING``; the replaced ones, one
   ``UPDATE ... FROM jsonb_to_recordset``.

A key another transaction inserted between steps 2 and 4 (the insert found it taken) has its
records applied again one at a time against the row that won, so the outcome is the one the
one-at-a-time path would give. The caller recomputes the affected people once
(:func:`lindung_health.screening.service.recompute_many`) in the same transaction.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from lindung_health.feeds.fhir import ParsedRecord
from lindung_health.toolkit import Toolkit

Action = Literal["created", "replaced", "retracted"]

#: Rows per INSERT/UPDATE statement (bounded by PostgreSQL's parameter and memory limits).
CHUNK = 2000


@dataclass(frozen=True)
class Item:
    """One parsed record to store; ``position`` is the caller's handle for its outcome."""

    position: int
    parsed: ParsedRecord
    source: str


@dataclass
class _Version:
    id: uuid.UUID
    version_id: str | None
    last_updated: datetime | None
    resource: dict[str, Any]
    person_id: uuid.UUID | None
    stored: bool
    values: dict[str, Any] | None = None
    items: list[Item] = field(default_factory=list)


_COLUMNS = (
    ("id", "uuid"),
    ("source_key", "text"),
    ("source", "text"),
    ("resource_type", "text"),
    ("kind", "text"),
    ("nik_hash", "text"),
    ("person_id", "uuid"),
    ("fhir_status", "text"),
    ("retracted", "boolean"),
    ("version_id", "text"),
    ("last_updated", "timestamptz"),
    ("occurred_at", "timestamptz"),
    ("vaccine_system", "text"),
    ("vaccine_code", "text"),
    ("dose_number", "integer"),
    ("test_type", "text"),
    ("loinc_code", "text"),
    ("result", "text"),
    ("resource", "jsonb"),
    ("received_at", "timestamptz"),
    ("updated_at", "timestamptz"),
)
_RECORDSET = ", ".join(f"{name} {kind}" for name, kind in _COLUMNS)
_SELECT = ", ".join(
    "decode(v.nik_hash, 'hex')" if name == "nik_hash" else f"v.{name}" for name, _ in _COLUMNS
)
_INSERT = text(
    f"INSERT INTO health_records ({', '.join(n for n, _ in _COLUMNS)}) "
    f"SELECT {_SELECT} FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS v({_RECORDSET}) "
    "ON CONFLICT (source_key) DO NOTHING RETURNING source_key"
)
_UPDATED = [n for n, _ in _COLUMNS if n not in ("id", "source_key", "received_at")]
_UPDATE = text(
    "UPDATE health_records h SET "
    + ", ".join(
        f"{n} = decode(v.nik_hash, 'hex')" if n == "nik_hash" else f"{n} = v.{n}" for n in _UPDATED
    )
    + f" FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS v({_RECORDSET}) WHERE h.id = v.id"
)
_STORED = text(
    "SELECT id, source_key, version_id, last_updated, resource, person_id FROM health_records "
    "WHERE source_key = ANY(CAST(:keys AS text[])) ORDER BY source_key FOR UPDATE"
)
_PEOPLE = text("SELECT nik_hash, id FROM people WHERE nik_hash = ANY(CAST(:hashes AS bytea[]))")


def _json(rows: list[dict[str, Any]]) -> str:
    def default(value: Any) -> Any:
        if isinstance(value, bytes):
            return value.hex()
        if isinstance(value, uuid.UUID):  # asyncpg's own UUID type
            return str(value)
        raise TypeError(type(value).__name__)

    return orjson.dumps(rows, default=default).decode()


async def store_many(
    session: AsyncSession, tk: Toolkit, items: list[Item], now: datetime
) -> tuple[dict[int, Any], set[uuid.UUID]]:
    """Store ``items`` (in arrival order); returns each position's
    :class:`~lindung_health.feeds.service.EntryOutcome` and the people whose records
    changed."""
    from lindung_health.feeds.service import EntryOutcome, _store, _values, is_newer

    if not items:
        return {}, set()
    hashes = {it.position: tk.protector.hash(it.parsed.nik) for it in items}
    people: dict[bytes, uuid.UUID] = {
        bytes(h): uuid.UUID(str(pid))
        for h, pid in (
            await session.execute(_PEOPLE, {"hashes": sorted(set(hashes.values()))})
        ).all()
    }
    keys = sorted({it.parsed.source_key for it in items})
    versions: dict[str, _Version] = {}
    for row in (await session.execute(_STORED, {"keys": keys})).all():
        versions[row.source_key] = _Version(
            uuid.UUID(str(row.id)),
            row.version_id,
            row.last_updated,
            row.resource,
            uuid.UUID(str(row.person_id)) if row.person_id is not None else None,
            stored=True,
        )

    outcomes: dict[int, EntryOutcome] = {}
    affected: set[uuid.UUID] = set()
    for it in items:
        parsed, pos = it.parsed, it.position
        rt, key = parsed.resource_type, parsed.source_key
        nik_hash = hashes[pos]
        person_id = people.get(nik_hash)
        values = _values(parsed, nik_hash, person_id, it.source, now)
        version = versions.get(key)
        if version is None:
            new_id = uuid.uuid4()
            versions[key] = _Version(
                new_id,
                parsed.version_id,
                parsed.last_updated,
                values["resource"],  # as stored (de-identified), what is_newer compares
                person_id,
                stored=False,
                values={**values, "id": new_id, "source_key": key, "received_at": now},
                items=[it],
            )
            action: Action = "retracted" if parsed.retracted else "created"
            outcomes[pos] = EntryOutcome(
                pos, "accepted", record_id=new_id, action=action, resource_type=rt, source_key=key
            )
            if person_id is not None:
                affected.add(person_id)
            continue
        version.items.append(it)
        if not is_newer(parsed, version):
            outcomes[pos] = EntryOutcome(
                pos,
                "duplicate",
                record_id=version.id,
                reason="duplicate",
                message="this version of the record (or a newer one) is already stored",
                resource_type=rt,
                source_key=key,
            )
            continue
        affected |= {p for p in (version.person_id, person_id) if p is not None}
        base = version.values or {}
        version.values = {
            **values,
            "id": version.id,
            "source_key": key,
            "received_at": base.get("received_at", now),
        }
        version.version_id, version.last_updated = parsed.version_id, parsed.last_updated
        version.resource, version.person_id = values["resource"], person_id
        action = "retracted" if parsed.retracted else "replaced"
        outcomes[pos] = EntryOutcome(
            pos, "accepted", record_id=version.id, action=action, resource_type=rt, source_key=key
        )

    # In key order, like the locks of step 2: two batches never wait on each other in a cycle.
    ordered = [versions[k] for k in sorted(versions)]
    new = [v for v in ordered if not v.stored and v.values is not None]
    changed = [v for v in ordered if v.stored and v.values is not None]
    inserted: set[str] = set()
    for start in range(0, len(new), CHUNK):
        chunk = new[start : start + CHUNK]
        rows = [v.values for v in chunk if v.values is not None]
        result = await session.execute(_INSERT, {"rows": _json(rows)})
        inserted |= set(result.scalars().all())
    for start in range(0, len(changed), CHUNK):
        rows = [v.values for v in changed[start : start + CHUNK] if v.values is not None]
        await session.execute(_UPDATE, {"rows": _json(rows)})

    # Keys taken by a concurrent transaction meanwhile: replay their records one at a time.
    for version in new:
        assert version.values is not None
        if version.values["source_key"] in inserted:
            continue
        for it in version.items:
            outcome, persons = await _store(session, tk, it.position, it.parsed, it.source, now)
            outcomes[it.position] = outcome
            affected |= persons
    return outcomes, affected
