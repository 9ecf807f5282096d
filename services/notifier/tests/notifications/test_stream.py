"""The live stream, served by a real uvicorn server, woken by LISTEN/NOTIFY."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from lindung_notifier.api import build_app
from lindung_notifier.notifications.fanout import Intent, fan_out
from lindung_shared.testing import bearer


@pytest.fixture(scope="module")
async def api_url(settings, serve_app) -> AsyncIterator[str]:
    app = build_app(settings.model_copy(update={"sse_heartbeat_seconds": 2.0}))
    served = await serve_app(app)
    for _ in range(100):  # the hub is listening once the lifespan has run
        if app.state.notification_hub.listening.is_set():
            break
        await asyncio.sleep(0.05)
    yield served.url
    await served.stop()


async def insert(sessionmaker, subject: str) -> None:
    """From another connection than the API's (as the worker does)."""
    async with sessionmaker() as session, session.begin():
        await fan_out(
            session,
            [
                Intent(
                    recipient=subject,
                    kind="case_correction",
                    template_key="case.retracted",
                    params={},
                    source_event_id=uuid.uuid4(),
                    timezone="Asia/Jakarta",
                )
            ],
        )


async def read_events(response: httpx.Response, queue: asyncio.Queue[dict[str, Any]]) -> None:
    event: dict[str, Any] = {}
    async for line in response.aiter_lines():
        if line == "":
            if event:
                await queue.put(event)
            event = {}
        elif line.startswith(":"):
            await queue.put({"comment": line[1:].strip()})
        else:
            name, _, value = line.partition(":")
            event[name] = value.strip()


async def next_event(queue: asyncio.Queue[dict[str, Any]], timeout: float = 5) -> dict[str, Any]:
    """The next event that is not a comment, within ``timeout`` overall."""
    async with asyncio.timeout(timeout):
        while True:
            event = await queue.get()
            if "comment" not in event:
                return event


async def test_stream_delivers_a_notification_inserted_elsewhere_and_resumes(
    settings, sessionmaker, api_url
) -> None:
    me = str(uuid.uuid4())
    auth = bearer(settings, "citizen", me)
    await insert(sessionmaker, me)  # before connecting: not replayed without Last-Event-ID
    async with httpx.AsyncClient(base_url=api_url, timeout=10) as client:
        async with client.stream("GET", "/v1/notifications/stream", headers=auth) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
            reader = asyncio.create_task(read_events(response, queue))
            try:
                assert (await asyncio.wait_for(queue.get(), 5)) == {"comment": "connected"}
                await insert(sessionmaker, str(uuid.uuid4()))  # someone else's: not shown
                started = asyncio.get_running_loop().time()
                await insert(sessionmaker, me)
                event = await next_event(queue)
                # Woken by NOTIFY, not by the 2 s heartbeat's re-read.
                assert asyncio.get_running_loop().time() - started < 1.0
                assert event["event"] == "notification"
                body = json.loads(event["data"])
                assert body["kind"] == "case_correction" and int(event["id"]) == body["seq"]
                heartbeat = await asyncio.wait_for(queue.get(), 4)
                assert heartbeat == {"comment": "heartbeat"}
                assert queue.empty()
            finally:
                reader.cancel()

        # Resume: everything after the Last-Event-ID given (here: both of mine).
        headers = auth | {"Last-Event-ID": "0"}
        async with client.stream("GET", "/v1/notifications/stream", headers=headers) as response:
            queue = asyncio.Queue()
            reader = asyncio.create_task(read_events(response, queue))
            try:
                first, second = await next_event(queue), await next_event(queue)
                assert int(first["id"]) < int(second["id"]) == body["seq"]
            finally:
                reader.cancel()


async def test_stream_needs_a_token(api_url) -> None:
    async with httpx.AsyncClient(base_url=api_url) as client:
        response = await client.get("/v1/notifications/stream")
    assert response.status_code == 401


async def test_a_row_committed_after_a_higher_one_is_still_streamed(
    settings, sessionmaker, api_url
) -> None:
    me = str(uuid.uuid4())
    auth = bearer(settings, "citizen", me)
    late = Intent(
        recipient=me,
        kind="case_correction",
        template_key="case.retracted",
        params={},
        source_event_id=uuid.uuid4(),
        timezone="Asia/Jakarta",
    )
    async with (
        httpx.AsyncClient(base_url=api_url, timeout=10) as client,
        client.stream("GET", "/v1/notifications/stream", headers=auth) as response,
    ):
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        reader = asyncio.create_task(read_events(response, queue))
        try:
            assert (await asyncio.wait_for(queue.get(), 5)) == {"comment": "connected"}
            async with sessionmaker() as slow, slow.begin():
                await fan_out(slow, [late])  # takes the lower seq, commits last
                await insert(sessionmaker, me)
                first = await next_event(queue)
            second = await next_event(queue)
            assert int(second["id"]) < int(first["id"])
        finally:
            reader.cancel()
