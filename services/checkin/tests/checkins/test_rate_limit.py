"""Check-ins per person per minute: counted inside the scan group's statement (one commit per
group, migration 0010), in the same counters as the shared limiter, so scans, refused scans
and offline batches spend one budget."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta

from lindung_checkin.checkins.repository import GroupLimit, Scan, scan_group
from lindung_checkin.database import create_pool
from lindung_shared.ratelimit import RateLimiter

from ..helpers import scalar

LIMIT = 30  # the test settings' CHECKIN_PER_PERSON_PER_MINUTE (the default)


def _away_from_the_minute_edge(margin: float = 8.0) -> None:
    """The windows are fixed minutes: a test straddling an edge would get two budgets."""
    left = 60 - time.time() % 60
    if left < margin:
        time.sleep(left + 0.2)


def _scan(person_id, venue_id, bucket, window) -> Scan:
    return Scan(
        person_id=person_id,
        venue_id=venue_id,
        qr_id=None,
        entrance="main",
        at=datetime.now(UTC),
        client_id=None,
        source="online",
        live=True,
        rule_version="sector-2021-09",
        visit_id=uuid.uuid4(),
        rate_bucket=bucket,
        rate_window=window,
    )


async def _visits_of(sessions, person_id) -> int:
    return await scalar(sessions, "SELECT count(*) FROM visits WHERE person_id = :p", p=person_id)


async def test_one_group_allows_the_first_hits_in_order_and_counts_them_all(
    db_settings, make_venue, citizen_factory, set_colour, sessions
):
    venue = await make_venue(capacity=100)
    limited, other = citizen_factory().person_id, citizen_factory().person_id
    for person in (limited, other):
        await set_colour(person, "green")
    window = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(minutes=5)
    bucket, other_bucket = f"test:{uuid.uuid4().hex}", f"test:{uuid.uuid4().hex}"
    scans = [_scan(limited, venue.venue_id, bucket, window) for _ in range(5)]
    scans.insert(2, _scan(other, venue.venue_id, other_bucket, window))
    scans.append(_scan(other, venue.venue_id, None, None))  # not limited at all
    pool = await create_pool(db_settings, min_size=1)
    try:
        rows = await scan_group(pool, scans, "sector-2021-09", GroupLimit(hits=3, seconds=60))
        again = await scan_group(
            pool,
            [_scan(limited, venue.venue_id, bucket, window)],
            "sector-2021-09",
            GroupLimit(hits=3, seconds=60),
        )
    finally:
        await pool.close()
    outcomes = [r["o_outcome"] for r in rows]
    # The limited person's first three scans pass (admitted, then checked out, admitted again),
    # the fourth and fifth do not; the other person is not affected by them.
    assert outcomes[2] == "admitted" and outcomes[-1] == "checked_out"
    mine = [o for i, o in enumerate(outcomes) if i not in (2, len(outcomes) - 1)]
    assert mine[:3] == ["admitted", "checked_out", "admitted"]
    assert mine[3:] == ["rate_limited", "rate_limited"]
    assert [r["o_visit_id"] for r in rows if r["o_outcome"] == "rate_limited"] == [None, None]
    assert again[0]["o_outcome"] == "rate_limited"
    counters = await scalar(
        sessions,
        "SELECT hits FROM rate_limit_counters WHERE bucket = :b AND window_start = :w",
        b=bucket,
        w=window,
    )
    assert counters == 6  # every hit counted, the refused ones too
    assert await _visits_of(sessions, limited) == 2  # two admissions, nothing for the refused


async def test_concurrent_check_ins_beyond_the_limit_get_429(
    client, signer, make_venue, green_citizen, sessions
):
    venues = [await make_venue(capacity=1000) for _ in range(4)]
    codes = [signer.sign(v.venue_id) for v in venues]
    _away_from_the_minute_edge()
    answers = await asyncio.gather(
        *(
            client.post("/v1/checkins", json={"qr": codes[i % 4]}, headers=green_citizen.headers)
            for i in range(LIMIT + 12)
        )
    )
    statuses = [a.status_code for a in answers]
    assert statuses.count(200) == LIMIT, statuses
    assert statuses.count(429) == 12, statuses
    for answer in answers:
        if answer.status_code == 429:
            assert answer.headers["content-type"] == "application/problem+json"
            assert 1 <= int(answer.headers["retry-after"]) <= 60
            assert answer.json()["type"].endswith("/rate-limited")
    admitted = sum(1 for a in answers if a.status_code == 200 and a.json()["outcome"] == "admitted")
    assert await _visits_of(sessions, green_citizen.person_id) == admitted


async def test_refused_codes_batches_and_scans_spend_one_budget(
    client, signer, make_venue, green_citizen, sessions
):
    venue = await make_venue(capacity=1000)
    _away_from_the_minute_edge(margin=15.0)
    headers = green_citizen.headers
    # One offline batch (counted by the shared limiter) and nine codes refused before the
    # scan statement (counted by it too)...
    batch = await client.post(
        "/v1/checkins/batch",
        json={
            "items": [
                {
                    "client_id": uuid.uuid4().hex,
                    "qr": signer.sign(venue.venue_id),
                    "scanned_at": (datetime.now(UTC) - timedelta(hours=2)).isoformat(),
                }
            ]
        },
        headers=headers,
    )
    assert batch.status_code == 200, batch.text
    for _ in range(9):
        refused = await client.post("/v1/checkins", json={"qr": "not-a-code"}, headers=headers)
        assert refused.status_code == 422
    # ... leave twenty scans, counted inside their statements.
    statuses = [
        (
            await client.post(
                "/v1/checkins", json={"qr": signer.sign(venue.venue_id)}, headers=headers
            )
        ).status_code
        for _ in range(LIMIT - 10 + 3)
    ]
    assert statuses == [200] * (LIMIT - 10) + [429] * 3
    # Over the limit, a refused code answers 429 too (the limit comes first for it).
    late = await client.post("/v1/checkins", json={"qr": "not-a-code"}, headers=headers)
    assert late.status_code == 429
    bucket = RateLimiter.bucket(_limit(), str(green_citizen.person_id))
    hits = await scalar(
        sessions, "SELECT sum(hits) FROM rate_limit_counters WHERE bucket = :b", b=bucket
    )
    assert hits == 1 + 9 + (LIMIT - 10 + 3) + 1


def _limit():
    from lindung_checkin.checkins.service import person_limit
    from lindung_checkin.settings import Settings

    limit = person_limit(Settings())
    assert limit is not None and limit.hits == LIMIT
    return limit
