"""National feed ingest benchmark: FHIR records per second through Kafka, with every affected
person's status recomputed and the events written, beside COPY of the same rows (the limit).

    source deploy/local/activate.sh
    python services/health-records/bench/feed_bench.py [--records 100000] [--per-message 50]
        [--workers 1]

On a fresh throwaway database and a throwaway topic of the shared Kafka:

1. registers P people (one per 2 records) straight into ``people`` with COPY;
2. produces the feed: Bundles of ``--per-message`` Immunizations (doses 1 and 2 of each person;
   one record in 20 a PCR result instead, one in 10 of those positive) as
   ``fhir.vaccination.submitted`` messages;
3. runs the real feed consumer (:class:`lindung_health.consumers.FeedConsumer`, polled batches
   of ``HEALTH_FEED_BATCH_SIZE`` messages) from the topic's start and times until every record
   is stored: records/s = records / time; statuses, history rows and outbox events counted;
4. validation alone: the same records parsed (``parse_submission``), in this process, by the
   lean models and (for comparison) by ``fhir.resources`` in full;
5. the limit: COPY of the same rows (the ``health_records`` columns as stored) into a copy of
   the table with its indexes.

With ``--workers N`` (N > 1) the topic has N partitions, the messages go to them in turn, and
N worker processes (this script with ``--consume``) share them in one consumer group, as N
health-records workers would.

Prints one JSON object, with CPU microseconds per record of the worker (this process, or the
sum of the worker processes) and of PostgreSQL (its processes, from /proc). The machine is
shared: report ``uptime`` beside the figures; the CPU per record is what load barely moves.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from lindung_health.consumers import FeedConsumer
from lindung_health.feeds.deidentify import deidentify
from lindung_health.feeds.service import parse_submission
from lindung_health.manifest import MIGRATIONS_DIR
from lindung_health.people.contact import sealed_columns
from lindung_health.settings import Settings
from lindung_health.testing import immunization, new_nik, observation
from lindung_health.toolkit import Toolkit
from lindung_shared.db import create_engine, create_sessionmaker
from lindung_shared.events import encode_envelope
from lindung_shared.events.catalogue import FhirResourceSubmitted, make_event
from lindung_shared.kafka import create_producer
from lindung_shared.kafka.security import kafka_security
from lindung_shared.testing import fresh_database, unique
from sqlalchemy import text

NOW = datetime.now(UTC)


def feed(people: list[tuple[str, date]], records: int, start: int = 0) -> list[dict[str, Any]]:
    """Records ``start`` to ``records`` of the feed."""
    out: list[dict[str, Any]] = []
    for n in range(start, records):
        nik = people[(n // 2) % len(people)][0]
        if n % 20 == 19:
            out.append(
                observation(
                    nik,
                    ident=f"b-{n}",
                    when=NOW - timedelta(days=1 + n % 5),
                    result="positive" if n % 200 == 199 else "negative",
                )
            )
        else:
            out.append(
                immunization(
                    nik,
                    ident=f"b-{n}",
                    when=NOW - timedelta(days=60 - 30 * (n % 2)),
                    dose=1 + n % 2,
                )
            )
    return out


def unique_people(n: int) -> list[tuple[str, date]]:
    """``n`` fictitious residents with distinct NIKs (random NIKs collide by the hundred
    thousand)."""
    found: dict[str, date] = {}
    while len(found) < n:
        nik, born = new_nik()
        found.setdefault(nik, born)
    return list(found.items())


async def register(session_url: str, tk: Toolkit, people: list[tuple[str, date]]) -> None:
    import asyncpg

    conn = await asyncpg.connect(session_url)
    try:
        rows = []
        for n, (nik, born) in enumerate(people):
            sealed = sealed_columns(tk.protector, name="Bench Person", phone_e164=f"+62812{n:08d}")
            rows.append(
                (
                    uuid.uuid4(),
                    tk.protector.hash(nik),
                    tk.protector.encrypt(nik),
                    sealed["name_ciphertext"],
                    born,
                    "F",
                    nik[:4],
                    sealed["phone_hash"],
                    sealed["phone_ciphertext"],
                    "id",
                )
            )
        await conn.copy_records_to_table(
            "people",
            records=rows,
            columns=[
                "id",
                "nik_hash",
                "nik_ciphertext",
                "name_ciphertext",
                "birth_date",
                "sex",
                "regency_code",
                "phone_hash",
                "phone_ciphertext",
                "language",
            ],
        )
    finally:
        await conn.close()


async def postgres_cpu_seconds(dsn: str) -> float | None:
    """CPU seconds (user + system) of the PostgreSQL server's processes so far: the postmaster's
    children, read from /proc (None when the server is not on this machine)."""
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        data_dir = await conn.fetchval("SELECT current_setting('data_directory')")
    finally:
        await conn.close()
    return await asyncio.to_thread(_process_tree_cpu, str(data_dir))


def _process_tree_cpu(data_dir: str) -> float | None:
    try:
        with open(os.path.join(data_dir, "postmaster.pid")) as f:
            postmaster = int(f.readline())
    except OSError:
        return None
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # fields[1] is the parent pid; [11], [12] utime, stime (after the command's ")").
        if int(entry) == postmaster or int(fields[1]) == postmaster:
            total += int(fields[11]) + int(fields[12])
    return total / ticks


async def copy_limit(dsn: str, tk: Toolkit, resources: list[dict[str, Any]]) -> dict[str, Any]:
    """COPY the same rows, as the feed path stores them, into a copy of health_records."""
    import asyncpg

    started = time.perf_counter()
    rows = []
    for n, r in enumerate(resources):
        is_test = r["resourceType"] == "Observation"
        nik = (r.get("patient") or r.get("subject"))["identifier"]["value"]
        rows.append(
            (
                uuid.uuid4(),
                f"{r['resourceType']}|copy|{n}",
                "bench",
                r["resourceType"],
                "test" if is_test else "vaccination",
                tk.protector.hash(nik),
                None,
                r["status"],
                False,
                NOW,
                json.dumps(deidentify(r)),
                NOW,
                NOW,
            )
        )
    prepared = time.perf_counter() - started
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(
            "CREATE TABLE bench_copy (LIKE health_records INCLUDING DEFAULTS INCLUDING INDEXES)"
        )
        started = time.perf_counter()
        await conn.copy_records_to_table(
            "bench_copy",
            records=rows,
            columns=[
                "id",
                "source_key",
                "source",
                "resource_type",
                "kind",
                "nik_hash",
                "person_id",
                "fhir_status",
                "retracted",
                "occurred_at",
                "resource",
                "received_at",
                "updated_at",
            ],
        )
        seconds = time.perf_counter() - started
        await conn.execute("DROP TABLE bench_copy")
    finally:
        await conn.close()
    return {
        "rows": len(rows),
        "copy_seconds": round(seconds, 2),
        "copy_rows_per_second": round(len(rows) / seconds),
        "python_row_preparation_seconds": round(prepared, 2),
    }


async def main(args: argparse.Namespace) -> dict[str, Any]:
    base = Settings()
    async with fresh_database(base, MIGRATIONS_DIR) as settings:
        tk = Toolkit.from_settings(settings)
        dsn = settings.sqlalchemy_url.replace("postgresql+asyncpg://", "postgresql://")
        n_people = max(1, args.records // 2)
        people = unique_people(n_people)
        await register(dsn, tk, people)
        resources = feed(people, args.records)

        bootstrap = settings.kafka_bootstrap_servers
        topic = unique("bench.feed.vaccinations")
        admin = AIOKafkaAdminClient(
            bootstrap_servers=bootstrap, client_id="feed-bench", **kafka_security()
        )
        await admin.start()
        workers = max(1, args.workers)
        await admin.create_topics([NewTopic(topic, num_partitions=workers, replication_factor=1)])
        await admin.close()
        producer = create_producer(bootstrap, client_id="feed-bench")
        await producer.start()
        started = time.perf_counter()
        messages = 0
        for i in range(0, len(resources), args.per_message):
            entries = resources[i : i + args.per_message]
            event = make_event(
                "fhir.vaccination.submitted",
                FhirResourceSubmitted(
                    source="vaccination-registry",
                    resource={
                        "resourceType": "Bundle",
                        "type": "batch",
                        "entry": [{"resource": r} for r in entries],
                    },
                ),
            )
            # A registry's Bundles all carry its source id as their key (one partition); the
            # bench spreads them over the partitions so that N workers can share them.
            await producer.send(
                topic,
                value=encode_envelope(event),
                key=event.key.encode(),
                partition=messages % workers,
                headers=[
                    ("event-type", event.type.encode()),
                    ("event-version", str(event.version).encode()),
                ],
            )
            messages += 1
        await producer.flush()
        produce_seconds = time.perf_counter() - started

        engine = create_engine(settings, pool_size=2, max_overflow=1)
        sessionmaker = create_sessionmaker(engine)
        group = unique("feed-bench")
        stop = asyncio.Event()
        children: list[subprocess.Popen[str]] = []
        task = None
        if workers > 1:
            # The worker processes start (imports, connections) before the clock does.
            children = [
                subprocess.Popen(  # noqa: ASYNC220, S603 (the bench's own script)
                    [
                        *(sys.executable, __file__, "--consume"),
                        *("--database-name", settings.database_name),
                        *("--topic", topic, "--group", group),
                    ],
                    stdout=subprocess.PIPE,
                    text=True,
                )
                for _ in range(workers)
            ]
            for child in children:
                assert child.stdout is not None
                await asyncio.to_thread(child.stdout.readline)  # "ready"
        pg_before = await postgres_cpu_seconds(dsn)
        cpu_before = time.process_time()
        started = time.perf_counter()
        if workers == 1:
            consumer = feed_consumer(settings, tk, topic, group, producer)
            task = asyncio.create_task(consumer.run(stop))
        stored = 0
        while stored < args.records:
            await asyncio.sleep(0.5)
            async with sessionmaker() as session:
                stored = int(
                    (
                        await session.execute(text("SELECT count(*) FROM health_records"))
                    ).scalar_one()
                )
            if time.perf_counter() - started > args.timeout:
                break
        seconds = time.perf_counter() - started
        pg_after = await postgres_cpu_seconds(dsn)
        pg_cpu = pg_after - pg_before if pg_after is not None and pg_before is not None else None
        if task is not None:
            worker_cpu = time.process_time() - cpu_before
            stop.set()
            await task
        else:
            worker_cpu = 0.0
            for child in children:
                child.send_signal(signal.SIGTERM)
            for child in children:
                out, _ = child.communicate(timeout=60)
                worker_cpu += float(json.loads(out.strip().splitlines()[-1])["cpu_seconds"])
        async with sessionmaker() as session:
            counts = {
                name: int((await session.execute(text(sql))).scalar_one())
                for name, sql in {
                    "statuses": "SELECT count(*) FROM person_status",
                    "status_history": "SELECT count(*) FROM status_history",
                    "cases": "SELECT count(*) FROM cases",
                    "outbox_events": "SELECT count(*) FROM outbox",
                }.items()
            }
        await engine.dispose()
        await producer.stop()
        limit = await copy_limit(dsn, tk, resources)
        sample = resources[:5000]
        started = time.perf_counter()
        parse_submission(
            tk,
            {"resourceType": "Bundle", "type": "batch", "entry": [{"resource": r} for r in sample]},
            NOW,
        )
        validation = len(sample) / (time.perf_counter() - started)
        started = time.process_time()
        parse_submission(
            tk,
            {"resourceType": "Bundle", "type": "batch", "entry": [{"resource": r} for r in sample]},
            NOW,
            full=True,
        )
        full_validation = len(sample) / (time.process_time() - started)
        return {
            "records": args.records,
            "records_stored": stored,
            "messages": messages,
            "records_per_message": args.per_message,
            "messages_per_batch": settings.feed_batch_size,
            "worker_processes": workers,
            "people": n_people,
            "produce_seconds": round(produce_seconds, 2),
            "consume_seconds": round(seconds, 2),
            "records_per_second": round(stored / seconds),
            # Load barely moves these: CPU time per record (the worker process; PostgreSQL's
            # processes, the bench's own count(*) polling included).
            "worker_cpu_us_per_record": round(worker_cpu / max(stored, 1) * 1e6),
            "postgres_cpu_us_per_record": (
                round(pg_cpu / max(stored, 1) * 1e6) if pg_cpu is not None else None
            ),
            **counts,
            "validation_records_per_second": round(validation),
            "full_fhir_resources_validation_records_per_cpu_second": round(full_validation),
            "copy_limit": limit,
            "ratio_to_copy": round((stored / seconds) / limit["copy_rows_per_second"], 3),
            "uptime": os.getloadavg(),
        }


def feed_consumer(
    settings: Settings, tk: Toolkit, topic: str, group: str, dead_letters: Any
) -> FeedConsumer:
    engine = create_engine(settings, pool_size=2, max_overflow=1)
    return FeedConsumer(
        toolkit=tk,
        service="health-records-bench",
        group_id=group,
        topics=[topic],
        sessionmaker=create_sessionmaker(engine),
        bootstrap_servers=settings.kafka_bootstrap_servers,
        dead_letters=dead_letters,
        batch_size=settings.feed_batch_size,
    )


async def consume(args: argparse.Namespace) -> dict[str, float]:
    """One worker process of a ``--workers N`` run: consume until SIGTERM; its CPU seconds
    from the consumer's start (imports and connections excluded)."""
    settings = Settings().model_copy(update={"database_name": args.database_name})
    tk = Toolkit.from_settings(settings)
    producer = create_producer(settings.kafka_bootstrap_servers, client_id="feed-bench-worker")
    await producer.start()
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    consumer = feed_consumer(settings, tk, args.topic, args.group, producer)
    print("ready", flush=True)
    started = time.process_time()
    await consumer.run(stop)
    cpu = time.process_time() - started
    await producer.stop()
    return {"cpu_seconds": cpu}


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--per-message", type=int, default=50)
    parser.add_argument("--timeout", type=float, default=1800)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--consume", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--database-name", help=argparse.SUPPRESS)
    parser.add_argument("--topic", help=argparse.SUPPRESS)
    parser.add_argument("--group", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.consume:
        print(json.dumps(asyncio.run(consume(arguments))))
    else:
        result = asyncio.run(main(arguments))
        print(json.dumps(result, indent=2, default=str))
