"""The PostgreSQL rate limiter: exact under concurrency (two engines, as two processes would
have), windows roll over, keys are stored hashed, 429 renders with Retry-After."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator

import pytest
from fastapi import APIRouter, Request
from lindung_shared.app import create_app
from lindung_shared.db import create_engine
from lindung_shared.dbadmin import create_database, drop_database
from lindung_shared.ratelimit import (
    TABLE,
    Limit,
    RateLimiter,
    RateLimiterDep,
    TooManyRequests,
    client_address,
)
from lindung_shared.settings import ServiceSettings
from lindung_shared.testing import app_client
from sqlalchemy import text

# Test moments a day ahead, on an hour boundary: their windows have not ended yet, so the
# occasional sweep of ended windows (random, one hit in 200) never removes them mid-test.
FUTURE = float((int(time.time()) // 3600 + 24) * 3600)


@pytest.fixture
async def settings() -> AsyncIterator[ServiceSettings]:
    base = ServiceSettings()  # type: ignore[call-arg]
    name = f"lindung_shared_ratelimit_t{uuid.uuid4().hex[:8]}"
    await create_database(base.server_url, name)
    settings = base.model_copy(update={"database_name": name})
    engine = create_engine(settings)
    async with engine.begin() as conn:
        await conn.execute(
            text(
                f"CREATE TABLE {TABLE} (bucket text, window_start timestamptz, hits int NOT NULL,"
                " expires_at timestamptz NOT NULL, PRIMARY KEY (bucket, window_start))"
            )
        )
    await engine.dispose()
    try:
        yield settings
    finally:
        await drop_database(base.server_url, name)


async def test_exact_under_concurrency_from_two_engines(settings: ServiceSettings) -> None:
    engines = [create_engine(settings), create_engine(settings)]
    limiters = [RateLimiter(e) for e in engines]
    limit = Limit("codes-per-phone", 3, 900)

    async def one(i: int) -> bool:
        try:
            await limiters[i % 2].hit(limit, "+6281234567890", now=FUTURE + 5)
        except TooManyRequests:
            return False
        return True

    try:
        results = await asyncio.gather(*(one(i) for i in range(40)))
        assert sum(results) == 3
        async with engines[0].connect() as conn:
            buckets = (await conn.execute(text(f"SELECT bucket, hits FROM {TABLE}"))).all()
        assert len(buckets) == 1 and buckets[0].hits == 40
        assert "6281234567890" not in buckets[0].bucket  # stored hashed
    finally:
        for engine in engines:
            await engine.dispose()


async def test_windows_roll_over_and_retry_after(settings: ServiceSettings) -> None:
    engine = create_engine(settings)
    limiter = RateLimiter(engine)
    limit = Limit("x-per-caller", 2, 60)
    try:
        start = FUTURE  # a window boundary (divisible by 60)
        await limiter.hit(limit, "a", now=start + 1)
        await limiter.hit(limit, "a", now=start + 2)
        with pytest.raises(TooManyRequests) as refused:
            await limiter.hit(limit, "a", now=start + 50)
        assert refused.value.retry_after == 10
        await limiter.hit(limit, "b", now=start + 50)  # another key has its own count
        await limiter.hit(limit, "a", now=start + 61)  # the next window
        await limiter.hit(Limit("x-per-caller", 0, 60), "a", now=start + 62)  # 0: no limit
    finally:
        await engine.dispose()


router = APIRouter()


@router.post("/v1/limited")
async def limited(request: Request, limiter: RateLimiterDep) -> dict[str, str]:
    await limiter.hit(Limit("calls-per-address", 1, 3600), client_address(request))
    return {"ok": "yes"}


async def test_429_problem_with_retry_after(settings: ServiceSettings) -> None:
    app = create_app(settings=settings, title="t", description="", routers=[router])
    async with app_client(app) as client:
        assert (await client.post("/v1/limited")).status_code == 200
        refused = await client.post("/v1/limited")
    assert refused.status_code == 429
    assert refused.headers["content-type"] == "application/problem+json"
    assert 1 <= int(refused.headers["retry-after"]) <= 3600
    assert refused.json()["limit"] == "calls-per-address"
