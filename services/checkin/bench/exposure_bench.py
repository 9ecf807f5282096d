"""Exposure matching benchmark: from a case event entering Kafka to the last event out.

    source deploy/local/activate.sh
    python services/checkin/bench/exposure_bench.py                 # 1,000,000 visits
    python services/checkin/bench/exposure_bench.py --rows 10000000 # the issue's scale

What it does:

1. creates (once) the database ``lindung_checkin_bench``, migrates it, and seeds ``--rows``
   visits over 21 days with binary COPY (reports rows/s), then VACUUM ANALYZE. A database
   already seeded with the same row count is reused (``--reseed`` to start over);
2. starts the matcher as its own worker process (the exposure consumer and the outbox relay,
   exactly as in the check-in worker) on private topics ``bench.lindung.*`` so the shared
   topics and other teams' consumers never see benchmark traffic;
3. for each run, times the bare SQL overlap query, produces a ``case.confirmed`` and waits
   until the last ``exposure.detected`` / ``venue.case_visited`` of that case arrives on
   Kafka: (a) cases with 40 visits over 14 days at ordinary venues, (b) cases at a mall with
   ~30,000 visitors a day (thousands overlapping);
4. prints JSON results and the EXPLAIN (ANALYZE, BUFFERS) plans of the matching statement.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

import asyncpg
import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from lindung_checkin.exposure.consumer import exposure_consumer
from lindung_checkin.exposure.repository import (
    CONTACTS_SQL,
    MATCH_SQL,
    CaseWindow,
    match_parameters,
)
from lindung_checkin.exposure.service import tracing_window
from lindung_checkin.exposure.settings import ExposureSettings
from lindung_checkin.manifest import SERVICE
from lindung_checkin.settings import Settings
from lindung_shared.db import create_engine, create_sessionmaker
from lindung_shared.dbadmin import create_database, drop_database
from lindung_shared.events import TOPICS, decode_event, encode_envelope, make_event
from lindung_shared.events.catalogue import CaseConfirmed
from lindung_shared.kafka import create_producer
from lindung_shared.kafka.security import kafka_security
from lindung_shared.migrations import upgrade
from lindung_shared.outbox import OutboxRelay, envelope_bytes
from lindung_shared.worker import WorkerContext, run_worker
from sqlalchemy import text

PREFIX = "bench."
CASES = PREFIX + "lindung.cases"
OUTPUTS = (PREFIX + "lindung.exposures", PREFIX + "lindung.venue-alerts")
SMALL_CASES = 60
LARGE_CASES = 8
VISITS_PER_SMALL_CASE = 40
MALL_VISITS_PER_DAY = 30_000
CATEGORIES = ("restaurant", "office", "worship", "hotel", "sport", "tourism", "other")
VISIT_COLUMNS = (
    "visit_id",
    "person_id",
    "venue_id",
    "checked_in_at",
    "checked_out_at",
    "auto_checkout_at",
    "checkout_method",
    "source",
    "colour",
    "counted",
)


# --- seeding -------------------------------------------------------------------------------


def _visit(
    rand: random.Random, person: uuid.UUID, venue: uuid.UUID, start: datetime, minutes: float
) -> tuple[Any, ...]:
    open_ = rand.random() < 0.2
    auto = start + timedelta(minutes=240)
    return (
        uuid.UUID(int=rand.getrandbits(128), version=4),
        person,
        venue,
        start,
        None if open_ else start + timedelta(minutes=minutes),
        auto,
        None if open_ else "explicit",
        "online",
        "green",
        True,
    )


def _plan(rows: int, now: datetime, seed: int) -> tuple[dict[str, Any], list[Any], Iterator[Any]]:
    """The venues, and a generator of every visit row (in chunks), of a seeded world."""
    rand = random.Random(seed)
    venues = [uuid.UUID(int=rand.getrandbits(128), version=4) for _ in range(20_000)]
    mall = uuid.UUID(int=rand.getrandbits(128), version=4)
    people = [uuid.UUID(int=rand.getrandbits(128), version=4) for _ in range(max(rows // 10, 1000))]
    small_cases = [uuid.uuid4() for _ in range(SMALL_CASES)]
    large_cases = [uuid.uuid4() for _ in range(LARGE_CASES)]
    mall_day = datetime.combine((now - timedelta(days=2)).date(), datetime.min.time(), UTC)
    venue_rows = [
        (v, f"manager-{i % 5000}", f"Venue {i}", rand.choice(CATEGORIES), "3171", "Asia/Jakarta")
        for i, v in enumerate(venues)
    ] + [(mall, "manager-mall", "Mal Bench Raya", "mall", "3171", "Asia/Jakarta")]
    meta = {
        "rows": rows,
        "mall": str(mall),
        "small_cases": [str(p) for p in small_cases],
        "large_cases": [str(p) for p in large_cases],
        "seeded_at": now.isoformat(),
    }
    mall_visits = min(3 * MALL_VISITS_PER_DAY, rows // 4)
    special = SMALL_CASES * VISITS_PER_SMALL_CASE + LARGE_CASES + mall_visits
    general = max(rows - special, 0)

    def visits() -> Iterator[list[tuple[Any, ...]]]:
        chunk: list[tuple[Any, ...]] = []
        span = 20 * 86400
        start0 = now - timedelta(days=20, hours=1)
        for _ in range(general):
            start = start0 + timedelta(seconds=rand.randrange(span))
            chunk.append(
                _visit(rand, rand.choice(people), rand.choice(venues), start, rand.uniform(5, 180))
            )
            if len(chunk) == 100_000:
                yield chunk
                chunk = []
        for i in range(mall_visits):  # three days around the large cases' day, 10:00-21:00 WIB
            day = mall_day + timedelta(days=(i % 3) - 1, hours=3)
            start = day + timedelta(seconds=rand.randrange(11 * 3600))
            chunk.append(_visit(rand, rand.choice(people), mall, start, rand.uniform(30, 240)))
        for person in large_cases:  # 13:00-17:00 WIB at the mall
            start = mall_day + timedelta(hours=6)
            end = start + timedelta(hours=4)
            visit_id = uuid.UUID(int=rand.getrandbits(128), version=4)
            chunk.append(
                (visit_id, person, mall, start, end, end, "explicit", "online", "green", True)
            )
        for person in small_cases:
            for _ in range(VISITS_PER_SMALL_CASE):
                start = now - timedelta(days=13.5) + timedelta(seconds=rand.randrange(13 * 86400))
                chunk.append(
                    _visit(rand, person, rand.choice(venues), start, rand.uniform(30, 120))
                )
        yield chunk

    return meta, venue_rows, visits()


async def seed(dsn: str, rows: int) -> dict[str, Any]:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS bench_meta (id int PRIMARY KEY, meta jsonb NOT NULL)"
        )
        found = await conn.fetchval("SELECT meta::text FROM bench_meta WHERE id = 1")
        if found is not None:
            meta: dict[str, Any] = orjson.loads(found)
            if meta["rows"] == rows:
                print(f"reusing the seeded benchmark database ({rows:,} visits)", file=sys.stderr)
                return meta
            raise SystemExit(f"the bench database holds {meta['rows']:,} visits; use --reseed")
        now = datetime.now(UTC).replace(microsecond=0)
        meta, venue_rows, chunks = _plan(rows, now, seed=6)
        await conn.execute(
            "SELECT checkin_ensure_partitions(d::date) FROM generate_series("
            "$1::date - 22, $1::date + 3, interval '1 day') AS d",
            now.date(),
        )
        await conn.copy_records_to_table(
            "venues",
            records=[(*v, 50_000, 50_000, 240, now) for v in venue_rows],
            columns=(
                "venue_id",
                "manager_id",
                "name",
                "category",
                "regency_code",
                "timezone",
                "capacity",
                "effective_capacity",
                "max_stay_minutes",
                "updated_at",
            ),
        )
        # Bulk-load practice: drop the indexes (and the primary key), COPY, build them again
        # once. Kept during the load they are maintained row by row at random UUID positions,
        # which made COPY five to ten times slower (docs/benchmarks.md).
        index_defs = [
            row["indexdef"].replace(" ON ONLY ", " ON ")
            for row in await conn.fetch(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'visits' "
                "AND indexname <> 'pk_visits'"
            )
        ]
        for name in await conn.fetch(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'visits' "
            "AND indexname <> 'pk_visits'"
        ):
            await conn.execute(f'DROP INDEX "{name["indexname"]}"')
        await conn.execute("ALTER TABLE visits DROP CONSTRAINT pk_visits")
        copied = 0
        copy_seconds = 0.0
        started = time.perf_counter()
        for chunk in chunks:
            t = time.perf_counter()
            await conn.copy_records_to_table("visits", records=chunk, columns=VISIT_COLUMNS)
            copy_seconds += time.perf_counter() - t
            copied += len(chunk)
            print(f"  seeded {copied:,} visits", file=sys.stderr)
        t = time.perf_counter()
        await conn.execute("SET maintenance_work_mem = '1GB'")
        await conn.execute(
            "ALTER TABLE visits ADD CONSTRAINT pk_visits PRIMARY KEY (visit_id, checked_in_at)"
        )
        for definition in index_defs:
            await conn.execute(definition)
        index_seconds = time.perf_counter() - t
        total = time.perf_counter() - started
        t = time.perf_counter()
        await conn.execute("VACUUM (ANALYZE) visits")
        await conn.execute("ANALYZE venues")
        meta["seed"] = {
            "visits": copied,
            "seconds_total": round(total, 1),
            "seconds_in_copy": round(copy_seconds, 1),
            "rows_per_second_copy": round(copied / copy_seconds),
            "index_build_seconds": round(index_seconds, 1),
            "rows_per_second_copy_and_indexes": round(copied / (copy_seconds + index_seconds)),
            "rows_per_second_with_generation": round(copied / total),
            "vacuum_analyze_seconds": round(time.perf_counter() - t, 1),
        }
        await conn.execute(
            "INSERT INTO bench_meta VALUES (1, $1::jsonb)", orjson.dumps(meta).decode()
        )
        return meta
    finally:
        await conn.close()


# --- the matcher process -------------------------------------------------------------------


class PipelinedRelay(OutboxRelay):
    """EXPERIMENT (``--relay pipelined``), to size the fix proposed in docs/benchmarks.md: the
    shared relay, except that batch N+1 is fetched and sent while batch N's broker acks are
    outstanding; batch N is deleted once acknowledged. Rows are sent in id order, as before.
    Not production-ready: a row committed late with an id below the batch in flight waits
    until the pipeline drains (the shared relay has the same race, in a narrower window)."""

    _inflight: tuple[list[Any], list[int]] | None = None
    _after: int = 0

    async def publish_batch(self, conn: asyncpg.Connection) -> int:
        rows = await conn.fetch(
            "SELECT id, event_id, type, version, occurred_at, producer, key, payload::text, "
            "topic FROM outbox WHERE id > $2 ORDER BY id LIMIT $1",
            self.batch_size,
            self._after,
        )
        futures = []
        for row in rows:
            futures.append(
                await self.producer.send(
                    row["topic"],
                    value=envelope_bytes(tuple(row)[1:8]),
                    key=row["key"].encode(),
                    headers=[
                        ("event-type", row["type"].encode()),
                        ("event-version", str(row["version"]).encode()),
                    ],
                )
            )
        done = 0
        if self._inflight is not None:
            previous, ids = self._inflight
            await asyncio.gather(*previous)
            await conn.execute("DELETE FROM outbox WHERE id = ANY($1::bigint[])", ids)
            done = len(ids)
        if rows:
            self._inflight = (futures, [r["id"] for r in rows])
            self._after = rows[-1]["id"]
            self._wake.set()
        else:
            self._inflight, self._after = None, 0
        return done + len(rows)


async def serve(database: str, group: str, relay: str) -> None:
    settings = Settings().model_copy(
        update={"database_name": database, "service_name": "checkin-bench"}
    )
    exposure = ExposureSettings(consumer_group=group, topic_prefix=PREFIX)

    def build(ctx: WorkerContext) -> list[Any]:
        consumer = exposure_consumer(
            sessionmaker=ctx.sessionmaker,
            bootstrap_servers=settings.kafka_bootstrap_servers,
            dead_letters=ctx.producer,
            settings=exposure,
            service_name="checkin-bench",
        )
        tasks = [consumer.run]
        if relay == "pipelined":
            tasks.append(PipelinedRelay(dsn=ctx.dsn, producer=ctx.producer, service="bench").run)
        return tasks

    await run_worker(settings, build, relay=relay == "shared")


# --- measuring -----------------------------------------------------------------------------


def _case(person: uuid.UUID) -> CaseConfirmed:
    now = datetime.now(UTC)
    return CaseConfirmed(
        case_id=uuid.uuid4(),
        case_ref=f"B-{uuid.uuid4().hex[:10]}",
        person_id=person,
        sample_taken_at=now - timedelta(hours=1),
        infectious_from=now - timedelta(days=15),
        infectious_until=now + timedelta(days=9),
    )


def _params(case: CaseConfirmed) -> dict[str, Any]:
    settings = ExposureSettings()
    start, end = tracing_window(case, settings.lookback_days)
    window = CaseWindow(
        case.case_id, case.case_ref, case.person_id, case.infectious_from, case.infectious_until
    )
    return match_parameters(
        window, window_start=start, window_end=end, max_stay=settings.max_stay, topic_prefix=PREFIX
    )


_BARE = text(
    CONTACTS_SQL + " SELECT (SELECT count(*) FROM contact), (SELECT count(*) FROM case_window)"
)


class Bench:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.engine = create_engine(settings, pool_size=2, max_overflow=0)
        self.sessions = create_sessionmaker(self.engine)
        self.producer = create_producer(
            settings.kafka_bootstrap_servers, client_id="exposure-bench"
        )
        self.consumer = AIOKafkaConsumer(
            bootstrap_servers=settings.kafka_bootstrap_servers,
            enable_auto_commit=False,
            fetch_max_wait_ms=20,
            max_partition_fetch_bytes=4 * 1024 * 1024,
            **kafka_security(),
        )
        self.keep: list[bytes] = []

    async def start(self) -> None:
        await self.producer.start()
        await self.consumer.start()
        partitions = [
            TopicPartition(topic, p)
            for topic in OUTPUTS
            for p in range(TOPICS[topic.removeprefix(PREFIX)].partitions)
        ]
        self.consumer.assign(partitions)
        await self.consumer.seek_to_end(*partitions)
        for tp in partitions:
            await self.consumer.position(tp)

    async def stop(self) -> None:
        await self.consumer.stop()
        await self.producer.stop()
        await self.engine.dispose()

    async def bare_query(self, case: CaseConfirmed) -> tuple[float, int, int]:
        async with self.sessions() as session, session.begin():
            await session.execute(text("SET LOCAL jit = off"))
            started = time.perf_counter()
            contacts, visits = (await session.execute(_BARE, _params(case))).one()
            return time.perf_counter() - started, contacts, visits

    async def explain(self, case: CaseConfirmed) -> str:
        async with self.sessions() as session, session.begin():
            await session.execute(text("SET LOCAL jit = off"))
            plan = (
                await session.execute(
                    text("EXPLAIN (ANALYZE, BUFFERS, FORMAT TEXT) " + MATCH_SQL), _params(case)
                )
            ).scalars()
            await session.rollback()
        return "\n".join(plan)

    async def run_case(self, person: uuid.UUID, keep: bool = False) -> dict[str, Any]:
        case = _case(person)
        bare, contacts, visits = await self.bare_query(case)
        event = make_event("case.confirmed", case)
        ref = case.case_ref.encode()
        seen_exposures = seen_alerts = 0
        first = last = None
        started = time.perf_counter()
        await self.producer.send_and_wait(
            CASES,
            value=encode_envelope(event),
            key=event.key.encode(),
            headers=[("event-type", b"case.confirmed"), ("event-version", b"1")],
        )
        deadline = started + 120
        while seen_exposures < contacts or seen_alerts < visits:
            if time.perf_counter() > deadline:
                raise RuntimeError(
                    f"timed out: {seen_exposures}/{contacts} exposures, {seen_alerts}/{visits}"
                )
            batch = await self.consumer.getmany(timeout_ms=50)
            now = time.perf_counter()
            for records in batch.values():
                for record in records:
                    if ref not in record.value:  # cheap filter before parsing
                        continue
                    if orjson.loads(record.value)["payload"]["case_ref"] != case.case_ref:
                        continue
                    if keep:
                        self.keep.append(record.value)
                    if record.topic == OUTPUTS[0]:
                        seen_exposures += 1
                        first = first or now
                    else:
                        seen_alerts += 1
                    last = now
        assert last is not None
        return {
            "exposures": contacts,
            "case_visits": visits,
            "bare_sql_ms": bare * 1000,
            "to_first_exposure_ms": None if first is None else (first - started) * 1000,
            "to_last_event_ms": (last - started) * 1000,
        }


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def _summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    total = [r["to_last_event_ms"] for r in runs]
    bare = [r["bare_sql_ms"] for r in runs]
    exposures = [r["exposures"] for r in runs]
    out = {
        "runs": len(runs),
        "exposures_per_case_mean": round(statistics.mean(exposures), 1),
        "case_visits_per_case_mean": round(statistics.mean(r["case_visits"] for r in runs), 1),
        "p50_ms": round(statistics.median(total), 1),
        "p99_ms": round(_percentile(total, 0.99), 1),
        "max_ms": round(max(total), 1),
        "bare_sql_p50_ms": round(statistics.median(bare), 1),
        "bare_sql_p99_ms": round(_percentile(bare, 0.99), 1),
    }
    firsts = [r["to_first_exposure_ms"] for r in runs if r["to_first_exposure_ms"] is not None]
    if firsts:
        out["to_first_exposure_p50_ms"] = round(statistics.median(firsts), 1)
    # After the first exposure arrives, the rest of the case is the outbox relay publishing.
    publishing = [
        r["exposures"] / ((r["to_last_event_ms"] - r["to_first_exposure_ms"]) / 1000)
        for r in runs
        if r["exposures"] > 100 and r["to_last_event_ms"] > r["to_first_exposure_ms"]
    ]
    if publishing:
        out["relay_phase_events_per_second_p50"] = round(statistics.median(publishing))
    rates = [r["exposures"] / (r["to_last_event_ms"] / 1000) for r in runs]
    out["exposure_events_per_second_p50"] = round(statistics.median(rates))
    out["exposure_events_per_second_min"] = round(min(rates))
    return out


async def ensure_bench_topics(bootstrap: str) -> None:
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap, client_id="exposure-bench", **kafka_security()
    )
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [CASES, *OUTPUTS]
        missing = [
            NewTopic(
                t,
                TOPICS[t.removeprefix(PREFIX)].partitions,
                1,
                topic_configs={"retention.ms": str(3600_000)},
            )
            for t in wanted
            if t not in existing
        ]
        if missing:
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(missing)
    finally:
        await admin.close()


async def delete_bench_topics(bootstrap: str) -> None:
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap, client_id="exposure-bench", **kafka_security()
    )
    await admin.start()
    try:
        await admin.delete_topics([CASES, *OUTPUTS])
    finally:
        await admin.close()


async def main_async(args: argparse.Namespace, worker_log: IO[str]) -> None:
    base = Settings()
    settings = base.model_copy(update={"database_name": args.database})
    if args.reseed:
        await drop_database(base.server_url, args.database)
    if await create_database(base.server_url, args.database):
        await asyncio.to_thread(upgrade, SERVICE.migrations_dir, settings.sqlalchemy_url)
    dsn = settings.sqlalchemy_url.replace("postgresql+asyncpg://", "postgresql://", 1)
    meta = await seed(dsn, args.rows)
    if args.seed_only:
        print(json.dumps({"seed": meta.get("seed")}, indent=2))
        return
    await ensure_bench_topics(settings.kafka_bootstrap_servers)
    group = f"exposure-bench-{uuid.uuid4().hex[:8]}"
    worker = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--serve",
        "--database",
        args.database,
        "--group",
        group,
        "--relay",
        args.relay,
        stdout=worker_log,
        stderr=worker_log,
        # The benchmark's own matcher on its private (prefixed) topics, outside the services'
        # ACL plan: it connects as the environment says (the stack's admin).
        env={**os.environ, "LINDUNG_LOG_LEVEL": "WARNING"},
    )
    bench = Bench(settings)
    try:
        await bench.start()
        small = [uuid.UUID(p) for p in meta["small_cases"]]
        large = [uuid.UUID(p) for p in meta["large_cases"]]
        print("warming up (consumer group join)", file=sys.stderr)
        await bench.run_case(small[0], keep=True)
        await bench.run_case(large[0], keep=True)
        for value in bench.keep:  # everything that reached Kafka is a valid catalogue event
            decode_event(value)
        validated = len(bench.keep)
        small_runs = []
        for person in small[1 : 1 + args.small_runs]:
            small_runs.append(await bench.run_case(person))
            await asyncio.sleep(0.05)
        large_runs = []
        for person in large[1 : 1 + args.large_runs]:
            large_runs.append(await bench.run_case(person))
        plan_small = await bench.explain(_case(small[-1]))
        plan_large = await bench.explain(_case(large[-1]))
        results = {
            "visits": meta["rows"],
            "relay": args.relay,
            "seed": meta.get("seed"),
            "events_validated_with_decode_event": validated,
            "a_40_visit_case": _summary(small_runs),
            "b_mall_case": _summary(large_runs),
        }
        print(json.dumps(results, indent=2))
        print("\n-- EXPLAIN (ANALYZE, BUFFERS): 40-visit case\n" + plan_small)
        print("\n-- EXPLAIN (ANALYZE, BUFFERS): mall case\n" + plan_large)
    finally:
        worker.terminate()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(worker.wait(), timeout=20)
        await bench.stop()
        if not args.keep_topics:
            await delete_bench_topics(settings.kafka_bootstrap_servers)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="visits to seed")
    parser.add_argument("--database", default="lindung_checkin_bench")
    parser.add_argument("--reseed", action="store_true", help="drop and seed the database again")
    parser.add_argument("--seed-only", action="store_true")
    parser.add_argument("--small-runs", type=int, default=50)
    parser.add_argument("--large-runs", type=int, default=5)
    parser.add_argument("--keep-topics", action="store_true")
    parser.add_argument(
        "--relay",
        choices=("shared", "pipelined"),
        default="shared",
        help="the outbox relay: the shared one, or the pipelined experiment",
    )
    parser.add_argument(
        "--worker-log",
        type=Path,
        default=Path(tempfile.gettempdir()) / "exposure-bench-worker.log",
    )
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--group", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(serve(args.database, args.group, args.relay))
    else:
        with args.worker_log.open("w") as worker_log:
            asyncio.run(main_async(args, worker_log))


if __name__ == "__main__":
    main()
