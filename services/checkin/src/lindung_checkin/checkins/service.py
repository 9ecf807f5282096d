"""The door: verify the QR offline, screen, enforce capacity, record, answer.

Everything that can be cached is (trusted keys, the rule version); everything else is one
database function call, so a scan costs one round trip to PostgreSQL and is durable before
the answer leaves.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from lindung_shared.errors import Conflict, NotFound, Problem, ServiceUnavailable, Unprocessable
from lindung_shared.events.catalogue import RED_ZONE_LEVEL
from lindung_shared.qr import QrClaims, QrInvalid, peek_key_id, verify_qr
from lindung_shared.ratelimit import Limit, RateLimiter, refusal, window
from prometheus_client import Counter as PromCounter

from lindung_checkin.checkins import repository
from lindung_checkin.checkins.grouping import ScanGrouper
from lindung_checkin.checkins.reasons import WARNINGS, reason_text
from lindung_checkin.checkins.repository import GroupLimit, Scan
from lindung_checkin.checkins.schemas import BatchItem, CheckinRequest
from lindung_checkin.settings import Settings
from lindung_checkin.trust.cache import QrKeyCache, RuleVersionCache


class QrRejected(Problem):
    status, code, title = 422, "qr-invalid", "The QR code is not valid"


class QrGone(Problem):
    status, code, title = 410, "qr-gone", "The QR code no longer works"


_QR_PROBLEMS: Mapping[str, tuple[int, str, str]] = {
    "not-lindung": (422, "qr-not-lindung", "This is not a Lindung venue QR code."),
    "malformed": (422, "qr-malformed", "The QR payload is malformed."),
    "bad-signature": (
        422,
        "qr-bad-signature",
        "The QR code's signature does not verify: it is forged or altered.",
    ),
    "unknown-key": (422, "qr-unknown-key", "The QR code was signed by an unknown or retired key."),
    "expired": (410, "qr-expired", "The QR code has expired; ask the venue for a new poster."),
}


def qr_problem(reason: str) -> Problem:
    status, code, detail = _QR_PROBLEMS.get(reason, (422, f"qr-{reason}", "Invalid QR code."))
    cls = QrGone if status == 410 else QrRejected
    return cls(detail, code=code, extra={"reason": reason})


def _text(code: str) -> dict[str, str]:
    indonesian, english = reason_text(code)
    return {"code": code, "id": indonesian, "en": english}


def _warning(code: str) -> dict[str, str]:
    indonesian, english = WARNINGS[code]
    return {"code": code, "id": indonesian, "en": english}


def person_limit(settings: Settings) -> Limit | None:
    """Check-ins (scans and offline batches) per person per minute, across every API
    process; None when switched off. A scan counts inside its group's statement
    (``checkin_scan_batch``), a batch through the shared limiter: the same counters."""
    if settings.per_person_per_minute <= 0:
        return None
    return Limit("checkins-per-person", settings.per_person_per_minute, 60)


def group_limit(settings: Settings) -> GroupLimit | None:
    limit = person_limit(settings)
    return None if limit is None else GroupLimit(hits=limit.hits, seconds=limit.seconds)


def classify_offline_time(scanned_at: datetime, now: datetime, settings: Settings) -> str:
    """``future`` / ``too-old`` (rejected), ``live`` (counts toward occupancy) or ``late``."""
    if scanned_at > now + timedelta(seconds=settings.future_tolerance_seconds):
        return "future"
    if scanned_at < now - timedelta(days=settings.lookback_days):
        return "too-old"
    if scanned_at >= now - timedelta(seconds=settings.offline_live_window_seconds):
        return "live"
    return "late"


@dataclass
class Door:
    settings: Settings
    pool: asyncpg.Pool
    keys: QrKeyCache
    rules: RuleVersionCache
    grouper: ScanGrouper
    #: Counts the refusals that never reach the scan statement (see :meth:`check_in`).
    limiter: RateLimiter | None = None
    partition_days: set[date] = field(default_factory=set)
    #: Payloads already verified against the key set they were verified with. A poster's
    #: payload is scanned by thousands of people, so the signature is checked once per key
    #: set, not once per scan; a reloaded key set (rotation, retirement) invalidates them all.
    #: Revocation is not cached here: ``checkin_scan`` checks it in the database every time.
    _verified: dict[str, tuple[QrClaims, Mapping[str, Ed25519PublicKey]]] = field(
        default_factory=dict
    )

    async def _ensure_partitions(self, days: set[date]) -> None:
        missing = days - self.partition_days
        if missing:
            await repository.ensure_partitions(self.pool, missing)
            self.partition_days |= missing

    async def verify(self, payload: str, *, at: float | None = None) -> QrClaims:
        keys: Mapping[str, Ed25519PublicKey] = await self.keys.current(self.pool)
        cached = self._verified.get(payload)
        if cached is not None and cached[1] is keys:
            claims = cached[0]
            if claims.expires_at is None or (at or time.time()) < claims.expires_at:
                return claims
        claims = await self._verify(payload, keys, at=at)
        if len(self._verified) >= 10_000:
            del self._verified[next(iter(self._verified))]  # the oldest (insertion order)
        self._verified[payload] = (claims, self.keys.keys)
        return claims

    async def _verify(
        self, payload: str, keys: Mapping[str, Ed25519PublicKey], *, at: float | None
    ) -> QrClaims:
        try:
            try:
                return verify_qr(payload, keys, now=at)
            except QrInvalid as exc:
                if exc.reason != "unknown-key":
                    raise
                # Perhaps a key published since the last load: reload (throttled), retry once.
                keys = await self.keys.current(self.pool, peek_key_id(payload))
                return verify_qr(payload, keys, now=at)
        except QrInvalid as exc:
            raise qr_problem(exc.reason) from None

    async def check_in(self, person_id: uuid.UUID, request: CheckinRequest) -> dict[str, Any]:
        """The scan counts against the person's check-ins per minute inside its group's
        statement; a scan refused before that (a code that fails verification, a time in the
        future) counts through the shared limiter, so a refused scan still counts."""
        now = datetime.now(UTC)
        limit = person_limit(self.settings)
        try:
            if request.scanned_at is not None and request.scanned_at > now + timedelta(
                seconds=self.settings.future_tolerance_seconds
            ):
                raise Unprocessable("scanned_at is in the future", code="scan-time-in-future")
            claims = await self.verify(request.qr)
        except Problem:
            if limit is not None and self.limiter is not None:
                await self.limiter.hit(limit, str(person_id))  # 429 when over, else:
            raise
        moment = now.timestamp()
        bucket = window_start = None
        if limit is not None:
            bucket = RateLimiter.bucket(limit, str(person_id))
            window_start = datetime.fromtimestamp(window(limit, moment)[0], UTC)
        row = await self.grouper.scan(
            Scan(
                person_id=person_id,
                venue_id=claims.venue_id,
                qr_id=claims.qr_id,
                entrance=claims.entrance,
                at=now,
                client_id=request.client_id,
                source="online",
                live=True,
                rule_version=await self.rules.current(self.pool),
                visit_id=uuid.uuid4(),
                rate_bucket=bucket,
                rate_window=window_start,
            )
        )
        if row["o_outcome"] == "rate_limited" and limit is not None:
            raise refusal(limit, moment)
        self._raise_for_refusal_of_code(row["o_outcome"])
        return self._answer(claims.venue_id, row)

    @staticmethod
    def _raise_for_refusal_of_code(outcome: str) -> None:
        if outcome == "unknown_venue":
            # The registry signed the code, so the venue exists: its registration event has
            # not arrived yet (seconds after the venue was created). Transient, so a 503.
            raise ServiceUnavailable(
                "the venue's registration has not reached the check-in service yet; retry",
                code="venue-not-yet-known",
                retry_after=2,
            )
        if outcome == "venue_closed":
            raise Conflict("the venue has closed for good", code="venue-closed")
        if outcome == "qr_revoked":
            raise QrGone("the QR code has been revoked by the venue registry", code="qr-revoked")

    def _answer(self, venue_id: uuid.UUID, row: asyncpg.Record) -> dict[str, Any]:
        outcome = row["o_outcome"]
        present = row["o_present"] or 0
        capacity = row["o_capacity"]
        warnings = []
        if capacity and present * 100 >= self.settings.nearly_full_percent * capacity:
            warnings.append(_warning("venue_nearly_full"))
        if row["o_zone_level"] == RED_ZONE_LEVEL:
            warnings.append(_warning("red_zone"))
        reason = row["o_reason"] or outcome
        return {
            "outcome": outcome,
            "visit_id": row["o_visit_id"],
            "venue_id": venue_id,
            "venue_name": row["o_venue_name"],
            "colour": row["o_colour"],
            "reason": _text("checked_out" if outcome == "checked_out" else reason),
            "occupancy": {"present": present, "capacity": capacity},
            "warnings": warnings,
            "checked_in_at": row["o_checked_in_at"],
            "auto_checkout_at": row["o_auto_checkout_at"],
            "replayed": row["o_replayed"],
        }

    async def check_out(self, person_id: uuid.UUID, visit_id: uuid.UUID) -> dict[str, Any]:
        row = await repository.check_out(
            self.pool, person_id=person_id, visit_id=visit_id, at=datetime.now(UTC)
        )
        if not row["o_found"]:
            # Someone else's visit is indistinguishable from a missing one.
            raise NotFound("no such visit of yours", code="visit-not-found")
        if row["o_checked_out_at"] is None:
            raise Conflict(
                "this visit was recorded offline and is not open here", code="visit-not-open"
            )
        return {
            "visit_id": visit_id,
            "venue_id": row["o_venue_id"],
            "checked_in_at": row["o_checked_in_at"],
            "checked_out_at": row["o_checked_out_at"],
            "checkout_method": row["o_checkout_method"],
            "present": row["o_present"],
        }

    async def _hold_unverified(
        self, person_id: uuid.UUID, items: list[BatchItem], rule_version: str | None
    ) -> dict[str, dict[str, Any]]:
        """Keep offline items whose key id this service has not heard of yet (its
        ``qr_key.published`` may still be on its way, or has just arrived and the key cache
        not yet reloaded). Anyone can make up a key id, so holds are bounded: at most
        ``unverified_holds_per_person`` held for one person and ``unverified_holds_total``
        in all (beyond: rejected ``too-many-held``), each for ``unverified_hold_hours`` (the
        worker drops them after). A retry of an item already held answers as before and
        spends nothing. A key known as retired is refused (``qr-unknown-key``) as before.
        See migration 0007 and ``checkins/pending.py``."""
        answers: dict[str, dict[str, Any]] = {}
        settings = self.settings
        async with self.pool.acquire() as conn, conn.transaction():
            # One person's uploads in turn, so that parallel batches cannot both pass the
            # per-person bound; the total may be passed by the batches of other people in
            # flight at the same moment (at most their items), which is what it tolerates.
            await repository.lock_person_holds(conn, person_id)
            already = await repository.held_of_person(
                conn, person_id, [item.client_id for item in items]
            )
            person_held = await repository.count_person_holds(conn, person_id)
            total_held = await repository.count_all_holds(conn, settings.unverified_holds_total)
            for item in items:
                if item.client_id in already:
                    answers[item.client_id] = _pending(
                        item.client_id, already[item.client_id], replayed=False
                    )
                    continue
                try:
                    key_id = peek_key_id(item.qr)
                except QrInvalid:
                    continue
                if person_held >= settings.unverified_holds_per_person:
                    HOLDS.labels("refused-person").inc()
                    answers[item.client_id] = _rejected(item.client_id, "too-many-held")
                    continue
                if total_held >= settings.unverified_holds_total:
                    HOLDS.labels("refused-total").inc()
                    answers[item.client_id] = _rejected(item.client_id, "too-many-held")
                    continue
                visit_id = await repository.hold_unverified(
                    conn,
                    person_id=person_id,
                    client_id=item.client_id,
                    visit_id=uuid.uuid4(),
                    key_id=key_id,
                    qr=item.qr,
                    scanned_at=item.scanned_at,
                    rule_version=rule_version,
                    checked_out_at=item.checked_out_at,
                )
                if visit_id is None:  # the key is known as retired
                    continue
                HOLDS.labels("held").inc()
                person_held += 1
                total_held += 1
                answers[item.client_id] = _pending(item.client_id, visit_id, replayed=False)
        return answers

    async def upload_batch(
        self, person_id: uuid.UUID, items: list[BatchItem]
    ) -> list[dict[str, Any]]:
        if len(items) > self.settings.batch_max_items:
            raise Unprocessable(
                f"a batch holds at most {self.settings.batch_max_items} items",
                code="batch-too-large",
            )
        duplicates = sorted(c for c, n in Counter(i.client_id for i in items).items() if n > 1)
        if duplicates:
            raise Unprocessable(
                "the batch repeats client ids; nothing was recorded",
                code="duplicate-client-ids",
                extra={"client_ids": duplicates},
            )
        now = datetime.now(UTC)
        skew = timedelta(seconds=self.settings.future_tolerance_seconds)
        answers: dict[str, dict[str, Any]] = {}
        accepted: list[tuple[BatchItem, QrClaims, bool]] = []
        rule_version = await self.rules.current(self.pool)
        unknown_key: list[BatchItem] = []
        for item in sorted(items, key=lambda i: i.scanned_at):
            kind = classify_offline_time(item.scanned_at, now, self.settings)
            if kind in ("future", "too-old"):
                answers[item.client_id] = _rejected(
                    item.client_id,
                    "scan-time-in-future" if kind == "future" else "scan-time-before-look-back",
                )
                continue
            if item.checked_out_at is not None and item.checked_out_at > now + skew:
                answers[item.client_id] = _rejected(item.client_id, "checkout-time-in-future")
                continue
            try:
                claims = await self.verify(item.qr, at=item.scanned_at.timestamp())
            except Problem as problem:
                if problem.code == "qr-unknown-key":
                    unknown_key.append(item)
                answers[item.client_id] = _rejected(item.client_id, problem.code)
                continue
            # A visit uploaded with its check-out is over: it never counts as present.
            accepted.append((item, claims, kind == "live" and item.checked_out_at is None))
        if unknown_key:
            answers.update(await self._hold_unverified(person_id, unknown_key, rule_version))
        if accepted:
            await self._ensure_partitions(
                {i.scanned_at.astimezone(UTC).date() for i, _, _ in accepted}
            )
            scans = [
                Scan(
                    person_id=person_id,
                    venue_id=claims.venue_id,
                    qr_id=claims.qr_id,
                    entrance=claims.entrance,
                    at=item.scanned_at,
                    client_id=item.client_id,
                    source="offline",
                    live=live,
                    rule_version=rule_version,
                    visit_id=uuid.uuid4(),
                    checked_out_at=None if live else item.checked_out_at,
                )
                for item, claims, live in accepted
            ]
            # One statement, in scan-time order, with the group's deadlock-free lock order.
            rows = await repository.scan_group(self.pool, scans, rule_version)
            for (item, _, _), row in zip(accepted, rows, strict=True):
                answers[item.client_id] = _batch_answer(item.client_id, row)
        return [answers[i.client_id] for i in items]


#: Offline items held for an unknown key: "held", or refused ("refused-person",
#: "refused-total"); the worker counts what it verifies, drops and expires
#: (``checkins/pending.py``).
HOLDS = PromCounter(
    "lindung_checkin_unverified_hold_attempts_total",
    "Offline items naming an unknown QR key id: held, or refused over a bound",
    ["outcome"],
)

_FUNCTION_REJECTIONS = {
    "unknown_venue": "venue-not-found",  # not for batch items: with a client id they are held
    "venue_closed": "venue-closed",
    "qr_revoked": "qr-revoked",
    "before_venue_existed": "before-venue-existed",
}


def _rejected(client_id: str, error: str) -> dict[str, Any]:
    return {"client_id": client_id, "status": "rejected", "error": error, "replayed": False}


def _pending(client_id: str, visit_id: uuid.UUID, *, replayed: bool) -> dict[str, Any]:
    return {
        "client_id": client_id,
        "status": "pending",
        "visit_id": visit_id,
        "colour": None,
        "reason": _text("pending"),
        "replayed": replayed,
    }


def _batch_answer(client_id: str, row: asyncpg.Record) -> dict[str, Any]:
    outcome = row["o_outcome"]
    if outcome in _FUNCTION_REJECTIONS:
        return _rejected(client_id, _FUNCTION_REJECTIONS[outcome])
    if outcome == "pending":
        return _pending(client_id, row["o_visit_id"], replayed=row["o_replayed"])
    reason = row["o_reason"] or outcome
    return {
        "client_id": client_id,
        "status": outcome,
        "visit_id": row["o_visit_id"],
        "colour": row["o_colour"],
        "reason": _text(reason),
        "replayed": row["o_replayed"],
    }
