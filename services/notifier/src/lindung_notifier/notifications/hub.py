"""Wakes live streams when notifications are inserted, by any process.

A trigger on ``notifications`` sends ``NOTIFY lindung_notifications`` with the recipients of
each insert (or ``*`` for a large fan-out). Each API process holds one LISTEN connection and
sets the events of the streams it serves; a stream then reads its new rows itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import asyncpg

log = logging.getLogger(__name__)

CHANNEL = "lindung_notifications"


class NotificationHub:
    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self._subscribers: dict[str, set[asyncio.Event]] = {}
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()
        self.listening = asyncio.Event()

    def subscribe(self, recipient: str) -> asyncio.Event:
        event = asyncio.Event()
        self._subscribers.setdefault(recipient, set()).add(event)
        return event

    def unsubscribe(self, recipient: str, event: asyncio.Event) -> None:
        waiting = self._subscribers.get(recipient)
        if waiting is not None:
            waiting.discard(event)
            if not waiting:
                del self._subscribers[recipient]

    def _on_notify(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        if payload == "*":
            targets = [e for events in self._subscribers.values() for e in events]
        else:
            targets = [e for r in payload.split(",") for e in self._subscribers.get(r, ())]
        for event in targets:
            event.set()

    def _wake_all(self) -> None:
        self._on_notify(None, 0, CHANNEL, "*")

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="notification-hub")

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    async def _run(self) -> None:
        while not self._stop.is_set():
            conn: asyncpg.Connection | None = None
            try:
                conn = await asyncpg.connect(self.dsn)
                await conn.add_listener(CHANNEL, self._on_notify)
                self.listening.set()
                self._wake_all()  # catch up on anything inserted while not listening
                while not self._stop.is_set() and not conn.is_closed():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._stop.wait(), timeout=5)
                    if not self._stop.is_set():
                        await conn.execute("SELECT 1")
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning(
                    "notification hub lost its connection (%s); retrying", type(exc).__name__
                )
                self.listening.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), timeout=2)
            except Exception:
                # Streams still re-read at every heartbeat: they degrade to polling meanwhile.
                log.exception("notification hub failed; retrying")
                self.listening.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), timeout=2)
            finally:
                if conn is not None:
                    with contextlib.suppress(Exception):
                        await conn.close(timeout=2)
