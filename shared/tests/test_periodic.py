"""Worker plumbing. Periodic jobs under a database outage: a few structured warnings, no
tracebacks; a bug still logs its traceback every time. The startup heap frozen.

The outage is real: the job's engine points at a port where no PostgreSQL listens (as while
the server restarts), then at the real server again.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from urllib.parse import urlsplit, urlunsplit

import pytest
from lindung_shared.db import create_engine
from lindung_shared.settings import ServiceSettings
from lindung_shared.transient import OutageLog, describe
from lindung_shared.worker import periodic
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

WORKER_LOG = "lindung_shared.worker"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # closed again when this returns


async def _run_for(task, seconds: float) -> None:
    stop = asyncio.Event()
    running = asyncio.create_task(task(stop))
    await asyncio.sleep(seconds)
    stop.set()
    await asyncio.wait_for(running, 5)


@pytest.fixture
async def engines(base_settings: ServiceSettings):
    parts = urlsplit(base_settings.database_url)
    elsewhere = parts._replace(
        netloc=f"{parts.username}:{parts.password}@127.0.0.1:{_closed_port()}"
    )
    down = create_engine(base_settings.model_copy(update={"database_url": urlunsplit(elsewhere)}))
    up = create_engine(base_settings)
    yield down, up
    await down.dispose()
    await up.dispose()


async def test_an_outage_is_one_warning_without_traceback_then_one_line_when_it_recovers(
    engines: tuple[AsyncEngine, AsyncEngine], caplog: pytest.LogCaptureFixture
) -> None:
    down, up = engines
    runs = {"n": 0}

    async def job() -> None:
        runs["n"] += 1
        engine = down if runs["n"] <= 20 else up  # the server comes back after 20 runs
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    caplog.set_level(logging.INFO, logger=WORKER_LOG)
    await _run_for(periodic("sweep", 0.01, job), 1.5)

    assert runs["n"] > 25, runs
    lines = [r for r in caplog.records if r.name == WORKER_LOG]
    warnings = [r for r in lines if r.levelno == logging.WARNING]
    assert len(warnings) == 1, [r.getMessage() for r in lines]
    warning = warnings[0]
    assert warning.getMessage() == "periodic job sweep: transient failure, retrying"
    assert warning.exc_info is None and warning.exc_text is None
    assert warning.outage == "periodic job sweep"
    assert "Connect" in warning.error or "refused" in warning.error, warning.error
    assert not [r for r in lines if r.levelno >= logging.ERROR]
    recovered = [r for r in lines if r.getMessage() == "periodic job sweep: recovered"]
    assert len(recovered) == 1
    assert recovered[0].failures == 20


async def test_a_bug_in_a_job_logs_its_traceback_every_time(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def job() -> None:
        raise KeyError("not an outage")

    caplog.set_level(logging.INFO, logger=WORKER_LOG)
    await _run_for(periodic("broken", 0.01, job), 0.5)

    errors = [r for r in caplog.records if r.name == WORKER_LOG and r.levelno == logging.ERROR]
    assert len(errors) >= 5
    assert all(r.exc_info and r.exc_info[0] is KeyError for r in errors)
    assert errors[0].getMessage() == "periodic job broken failed"


def test_a_long_outage_logs_once_per_interval_with_the_count_held_back(
    caplog: pytest.LogCaptureFixture,
) -> None:
    now = [0.0]
    log = logging.getLogger("lindung.test.outage")
    outage = OutageLog(log, "job x", every=60.0, clock=lambda: now[0])
    caplog.set_level(logging.INFO, logger="lindung.test.outage")
    for _ in range(600):  # ten minutes of a failure a second
        outage.failed(ConnectionRefusedError(111, "Connect call failed"))
        now[0] += 1.0
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 10
    assert warnings[1].failures == 61 and warnings[1].failures_not_logged == 59
    assert warnings[-1].failing_for_seconds == 540.0


def test_the_description_leaves_out_the_statement_and_its_parameters() -> None:
    from sqlalchemy.exc import OperationalError

    wrapped = OperationalError(
        "UPDATE people SET phone = $1", {"phone": "+6281234567890"}, OSError("connection lost")
    )
    text_ = describe(wrapped)
    assert text_ == "OperationalError (OSError: connection lost)"
    assert "6281234567890" not in text_ and "UPDATE" not in text_


def test_the_startup_heap_is_frozen_out_of_the_collectors_reach() -> None:
    import gc

    from lindung_shared.worker import freeze_startup_heap

    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    try:
        freeze_startup_heap()
        frozen = gc.get_freeze_count()
        assert frozen > 10_000  # every module, class and function loaded so far
        gc.collect()
        assert gc.get_freeze_count() == frozen  # a full collection leaves them alone
    finally:
        gc.unfreeze()
