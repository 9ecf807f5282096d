"""Group commit for scans: the scans that arrive while others are in flight go together.

A scan is sent at once when a database slot is free (no added latency when the door is
quiet). Under load every slot is busy; the scans queue meanwhile and the next free slot takes
them all (up to ``max_group``) as ONE statement, so one WAL flush and one hold of each venue's
occupancy row serve the whole group (see migration 0003), the per-person rate limit's
counters included (migration 0010). Each caller still gets its own answer only after that
commit. If a group fails as a whole (which should not happen), its scans are retried one by
one so that one bad scan cannot sink the others.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque

import asyncpg
from prometheus_client import Histogram

from lindung_checkin.checkins import repository
from lindung_checkin.checkins.repository import GroupLimit, Scan

log = logging.getLogger(__name__)

SCAN_GROUP_SIZE = Histogram(
    "lindung_checkin_scan_group_size",
    "Scans committed together in one statement",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128),
)


class ScanGrouper:
    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        max_group: int,
        max_in_flight: int,
        limit: GroupLimit | None = None,
    ) -> None:
        self.pool = pool
        self.limit = limit
        self.max_group = max_group
        self.max_in_flight = max(1, max_in_flight)
        self._queue: deque[tuple[Scan, asyncio.Future[asyncpg.Record]]] = deque()
        self._in_flight = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self.groups_sent = 0

    async def scan(self, scan: Scan) -> asyncpg.Record:
        future: asyncio.Future[asyncpg.Record] = asyncio.get_running_loop().create_future()
        self._queue.append((scan, future))
        self._dispatch()
        # Shielded: a caller that goes away must not cancel the statement of the others.
        return await asyncio.shield(future)

    def _dispatch(self) -> None:
        while self._queue and self._in_flight < self.max_in_flight:
            size = min(len(self._queue), self.max_group)
            group = [self._queue.popleft() for _ in range(size)]
            self._in_flight += 1
            task = asyncio.create_task(self._run(group))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _run(self, group: list[tuple[Scan, asyncio.Future[asyncpg.Record]]]) -> None:
        SCAN_GROUP_SIZE.observe(len(group))
        self.groups_sent += 1
        try:
            if len(group) > 1:
                try:
                    rows = await repository.scan_group(
                        self.pool, [s for s, _ in group], group[0][0].rule_version, self.limit
                    )
                except Exception as exc:
                    log.warning(
                        "a scan group failed (%s); retrying its scans one by one",
                        type(exc).__name__,
                    )
                else:
                    for (_, future), row in zip(group, rows, strict=True):
                        if not future.done():
                            future.set_result(row)
                    return
            for scan, future in group:
                try:
                    (row,) = await repository.scan_group(
                        self.pool, [scan], scan.rule_version, self.limit
                    )
                except Exception as exc:
                    if not future.done():
                        future.set_exception(exc)
                else:
                    if not future.done():
                        future.set_result(row)
        finally:
            self._in_flight -= 1
            self._dispatch()
