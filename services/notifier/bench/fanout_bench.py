"""Notification fan-out benchmark: a 10,000-contact case, with one and with two workers.

    source deploy/local/activate.sh
    python services/notifier/bench/fanout_bench.py [--contacts 10000] [--workers 1,2]

What it does, on a fresh throwaway database per worker count and the shared Kafka:

1. starts a local gateway (a bare ASGI app under uvicorn, in its own process) that answers
   SMS (``{"to", "text", "reference"}``) and push (FCM v1 shape, the delivery id in ``data``)
   with a message id, idempotent by reference;
2. seeds N recipients with phones (every other one with a push device too), lets W worker
   processes join one consumer group (the notifier's own ``BatchingConsumer``) and waits until
   the 12 partitions of ``lindung.exposures`` are split between them, then produces N
   ``exposure.detected`` events and times the **fan-out**: from the first event sent to the
   last batch committed by a worker (notifications rendered and stored, their SMS and push
   deliveries queued; the workers only consume, the producer's start and the workers'
   leaving the group are outside the time); PostgreSQL's CPU (every backend of the server)
   and the whole machine's busy CPU until the parent saw the last notification (polling
   every 100 ms) are reported beside the workers' own;
3. **delivery**: W processes of the notifier's ``DeliveryWorker`` (8 concurrent calls each)
   send everything queued to the gateway (with the worker's own aiohttp session); measured
   between two runs of W **plain clients** (a bare httpx loop, 8 connections each, the same
   SMS/push mix) against the same gateway, so the ratio worker / plain client is taken in the
   same minute of the same run; then one run of W bare **aiohttp** loops (the worker's own
   HTTP client without the worker: the stricter ratio).

Every process reports its own CPU seconds: CPU per notification and per call are what the
shared machine's load barely moves; wall-clock rates are printed with the load average.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition
from lindung_notifier.consumers import TOPICS, build_consumer
from lindung_notifier.delivery.worker import DeliveryWorker
from lindung_notifier.manifest import SERVICE
from lindung_notifier.settings import Settings
from lindung_notifier.worker import gateway_session, make_channels
from lindung_shared.db import create_engine, create_sessionmaker
from lindung_shared.events import TOPICS as CATALOGUE_TOPICS
from lindung_shared.events import encode_envelope
from lindung_shared.events.catalogue import ExposureDetected, make_event
from lindung_shared.kafka import create_producer
from lindung_shared.kafka.security import kafka_security
from lindung_shared.sealing import Sealer
from lindung_shared.testing import fresh_database, unique
from lindung_shared.worker import freeze_startup_heap
from sqlalchemy import text

# --- the local SMS gateway (runs in a child process) -----------------------------------------


def gateway_app() -> Any:
    seen: set[str] = set()

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        if scope["method"] == "GET":
            answer = orjson.dumps({"distinct": len(seen)})
        else:
            payload = orjson.loads(body)
            # SMS: {"to", "text", "reference"}; push (FCM v1 shape): the delivery id in data.
            reference = payload.get("reference") or payload["message"]["data"]["delivery_id"]
            seen.add(reference)
            answer = orjson.dumps({"message_id": "m-" + reference[:8]})
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": answer})

    return app


def serve_gateway(port: int) -> None:
    import uvicorn

    uvicorn.run(
        gateway_app(),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        http="httptools",
        loop="uvloop",
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def wait_for_gateway(url: str) -> None:
    async with httpx.AsyncClient() as client:
        for _ in range(1200):  # up to a minute: imports are slow on a loaded machine
            with contextlib.suppress(httpx.TransportError):
                await client.get(url)
                return
            await asyncio.sleep(0.05)
    raise RuntimeError("gateway did not start")


# --- the measurements -------------------------------------------------------------------------

EXPOSURE_PARTITIONS = CATALOGUE_TOPICS["lindung.exposures"].partitions


def sms_payload(i: int) -> dict[str, Any]:
    return {"to": "+62811000000", "text": "x" * 160, "reference": f"plain-{i}"}


def push_payload(i: int) -> dict[str, Any]:
    return {
        "message": {
            "token": "t" * 64,
            "notification": {"title": "x" * 40, "body": "x" * 160},
            "data": {"delivery_id": f"plain-{i}", "venue_id": "v" * 36},
        }
    }


async def plain_client(sms_url: str, push_url: str, requests: int, concurrency: int) -> None:
    """A bare httpx loop: the same gateway, connections, bearer header and SMS/push mix (one
    push in three) as the worker, none of its bookkeeping."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    offset = uuid.uuid4().int % 10**9
    headers = {"Authorization": "Bearer x", "Content-Type": "application/json"}
    async with httpx.AsyncClient(limits=limits) as client:
        queue: asyncio.Queue[int] = asyncio.Queue()
        for i in range(requests):
            queue.put_nowait(i)

        async def sender() -> None:
            while not queue.empty():
                i = queue.get_nowait()
                push = i % 3 == 0
                payload = push_payload(offset + i) if push else sms_payload(offset + i)
                response = await client.post(
                    push_url if push else sms_url, content=orjson.dumps(payload), headers=headers
                )
                response.raise_for_status()

        await asyncio.gather(*(sender() for _ in range(concurrency)))


async def plain_aiohttp_client(
    sms_url: str, push_url: str, requests: int, concurrency: int
) -> None:
    """The same bare loop with aiohttp (the worker's HTTP client since issue 14 round 3)."""
    offset = uuid.uuid4().int % 10**9
    headers = {"Authorization": "Bearer x", "Content-Type": "application/json"}
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as client:
        work = iter(range(requests))

        async def sender() -> None:
            for i in work:
                push = i % 3 == 0
                payload = push_payload(offset + i) if push else sms_payload(offset + i)
                async with client.post(
                    push_url if push else sms_url, data=orjson.dumps(payload), headers=headers
                ) as response:
                    response.raise_for_status()
                    await response.read()

        await asyncio.gather(*(sender() for _ in range(concurrency)))


async def seed_recipients(sessionmaker: Any, contacts: list[uuid.UUID]) -> None:
    # Phones rest sealed (notifier migration 0004), as the contact consumer stores them.
    sealer = Sealer(Settings().contact_seal_key.get_secret_value())
    phones = [sealer.seal(f"+6281{n:09d}", "phone") for n in range(1, len(contacts) + 1)]
    async with sessionmaker() as session, session.begin():
        await session.execute(
            text(
                "INSERT INTO recipients (subject, phone_sealed, language, updated_at) "
                "SELECT s, p, CASE WHEN n % 3 = 0 THEN 'en' ELSE 'id' END, now() "
                "FROM unnest(CAST(:subjects AS text[]), CAST(:phones AS text[])) "
                "WITH ORDINALITY AS t(s, p, n)"
            ),
            {"subjects": [str(c) for c in contacts], "phones": phones},
        )
        # Every other contact has the app (one push device) as well as a phone.
        await session.execute(
            text(
                "INSERT INTO devices (id, recipient, platform, token) "
                "SELECT gen_random_uuid(), s, 'android', 'bench-token-' || n "
                "FROM unnest(CAST(:subjects AS text[])) WITH ORDINALITY AS t(s, n) "
                "WHERE n % 2 = 0"
            ),
            {"subjects": [str(c) for c in contacts]},
        )


async def commit_ends(bootstrap: str, group: str) -> None:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False, **kafka_security()
    )
    await consumer.start()
    try:
        partitions = [
            TopicPartition(t, p) for t in TOPICS for p in range(CATALOGUE_TOPICS[t].partitions)
        ]
        consumer.assign(partitions)
        await consumer.commit(dict((await consumer.end_offsets(partitions)).items()))
    finally:
        await consumer.stop()


async def produce_exposures(
    settings: Settings, contacts: list[uuid.UUID], first_sent: asyncio.Future[float]
) -> float:
    """Produce one event per contact; ``first_sent`` gets the clock at the first send (the
    producer's start, connecting and fetching metadata, is not part of the fan-out)."""
    producer = create_producer(settings.kafka_bootstrap_servers, client_id="notifier-bench")
    await producer.start()
    case_end = datetime.now(UTC) - timedelta(days=1)
    started = time.perf_counter()
    first_sent.set_result(time.time())
    try:
        venue = uuid.uuid4()
        for contact in contacts:
            event = make_event(
                "exposure.detected",
                ExposureDetected(
                    exposure_id=uuid.uuid4(),
                    case_ref="BENCH-1",
                    contact_person_id=contact,
                    venue_id=venue,
                    venue_name="Pasar Bench",
                    venue_timezone="Asia/Makassar",
                    overlap_start=case_end - timedelta(minutes=40),
                    overlap_end=case_end,
                    overlap_minutes=40,
                ),
            )
            await producer.send(
                "lindung.exposures",
                value=encode_envelope(event),
                key=event.key.encode(),
                headers=[("event-type", b"exposure.detected"), ("event-version", b"1")],
            )
        await producer.flush()
    finally:
        await producer.stop()
    return time.perf_counter() - started


async def all_stored(sessionmaker: Any, n: int, producing: asyncio.Task[float]) -> None:
    """Wait until all ``n`` notifications are committed (polled every 100 ms; the workers
    report when they committed their last batch)."""
    deadline = time.perf_counter() + 600
    while await count(sessionmaker, "SELECT count(*) FROM notifications") < n:
        if time.perf_counter() > deadline:
            raise RuntimeError("the fan-out did not finish in 600 s")
        if producing.done() and producing.exception() is not None:
            producing.result()
        await asyncio.sleep(0.1)


# --- CPU of the machine and of PostgreSQL during the fan-out (Linux /proc) --------------------

CPUS = os.cpu_count() or 1
CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def machine_cpu() -> float:
    """CPU seconds the whole machine spent busy (all processes, everyone's)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(fields) - fields[3] - fields[4]) / CLOCK_TICKS  # minus idle and iowait


def process_tree_cpu(pid: int) -> float:
    """CPU seconds of a process, its live children, and its children that have exited (the
    postmaster: every backend of this PostgreSQL, whichever database or client)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            stat = (entry / "stat").read_text()
            fields = stat[stat.rindex(")") + 2 :].split()
            ppid, utime, stime = int(fields[1]), int(fields[11]), int(fields[12])
            if int(entry.name) == pid:
                total += utime + stime + int(fields[13]) + int(fields[14])  # + exited children
            elif ppid == pid:
                total += utime + stime
    return total / CLOCK_TICKS


async def postmaster_pid(sessionmaker: Any) -> int:
    backend = await count(sessionmaker, "SELECT pg_backend_pid()")
    stat = Path(f"/proc/{backend}/stat").read_text()  # noqa: ASYNC240 (once, before timing)
    return int(stat[stat.rindex(")") + 2 :].split()[1])


async def count(sessionmaker: Any, sql: str) -> int:
    async with sessionmaker() as session:
        return int((await session.execute(text(sql))).scalar_one())


def _notifications_created() -> float:
    from lindung_notifier.metrics import NOTIFICATIONS_CREATED

    return sum(
        s.value
        for metric in NOTIFICATIONS_CREATED.collect()
        for s in metric.samples
        if s.name.endswith("_total")
    )


# --- the child processes (one per worker or plain client) ------------------------------------


def say(line: str) -> None:
    print(line, flush=True)


async def child_main(args: argparse.Namespace) -> None:
    """Runs in a child: ``ready``, wait for ``go`` on stdin, do one stage, ``done {json}``."""
    settings = Settings(delivery_batch_size=args.delivery_batch)
    go = asyncio.ensure_future(asyncio.to_thread(sys.stdin.readline))
    if args.child == "plain":
        freeze_startup_heap()  # as the workers do (run_worker): the same for every child
        say("ready")
        await go
        cpu, started = time.process_time(), time.perf_counter()
        loop = plain_aiohttp_client if args.http == "aiohttp" else plain_client
        await loop(
            settings.sms_gateway_url, settings.push_gateway_url, args.requests, args.concurrency
        )
        wall = time.perf_counter() - started
        say(
            "done "
            + json.dumps({"cpu": time.process_time() - cpu, "calls": args.requests, "wall": wall})
        )
        return
    engine = create_engine(settings)
    sessionmaker = create_sessionmaker(engine)
    if args.child == "fanout":
        producer = create_producer(settings.kafka_bootstrap_servers, client_id="bench-dlq")
        await producer.start()
        consumer = build_consumer(
            settings, group_id=args.group, sessionmaker=sessionmaker, dead_letters=producer
        )
        # When each batch was committed (the database transaction and the Kafka offsets): the
        # parent takes the fan-out's end from the last one, without polling of its own.
        committed_at = [0.0]
        handle_batch = consumer._handle_batch

        async def timed_batch(*args: Any) -> None:
            await handle_batch(*args)
            committed_at[0] = time.time()

        consumer._handle_batch = timed_batch  # type: ignore[method-assign]
        stop = asyncio.Event()
        consuming = asyncio.create_task(consumer.run(stop))
        freeze_startup_heap()  # what run_worker does before its tasks start
        say("ready")
        shown = -1
        while not go.done():  # report the share of lindung.exposures this member was given
            kafka = consumer.consumer
            mine = 0
            with contextlib.suppress(Exception):
                if kafka is not None:
                    mine = sum(1 for tp in kafka.assignment() if tp.topic == "lindung.exposures")
            if mine != shown:
                say(f"assigned {mine}")
                shown = mine
            await asyncio.sleep(0.1)
        # The parent watches the database for the last notification and says "stop": this
        # process only consumes (no polling in the CPU measured), and leaving the consumer
        # group afterwards is not part of the fan-out's time.
        cpu, created = time.process_time(), _notifications_created()
        await asyncio.to_thread(sys.stdin.readline)
        used = time.process_time() - cpu
        stop.set()
        await consuming
        await producer.stop()
        say(
            "done "
            + json.dumps(
                {
                    "cpu": used,
                    "notifications": _notifications_created() - created,
                    "last_commit": committed_at[0],
                }
            )
        )
    else:  # delivery
        client = gateway_session(settings)  # the worker's own client (aiohttp)
        worker = DeliveryWorker(settings, sessionmaker, make_channels(settings, client))
        freeze_startup_heap()
        say("ready")
        await go
        cpu, calls = time.process_time(), 0
        while True:
            sent = await worker.drain()  # what the worker's periodic job calls
            calls += sent
            if sent == 0:
                left = await count(
                    sessionmaker, "SELECT count(*) FROM deliveries WHERE status <> 'delivered'"
                )
                if left == 0:
                    break
                await asyncio.sleep(0.02)
        used = time.process_time() - cpu
        await client.close()
        say("done " + json.dumps({"cpu": used, "calls": calls}))
    await engine.dispose()


class Child:
    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.assigned = 0
        self.result: dict[str, Any] = {}

    @classmethod
    async def spawn(cls, role: str, env: dict[str, str], *extra: str) -> Child:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            __file__,
            "--child",
            role,
            *extra,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            env=env,
        )
        return cls(process)

    async def line(self) -> str:
        assert self.process.stdout is not None
        raw = await self.process.stdout.readline()
        if not raw:
            raise RuntimeError(f"a bench child exited ({await self.process.wait()})")
        return raw.decode().strip()

    async def until(self, prefix: str) -> str:
        while True:
            line = await self.line()
            if line.startswith("assigned "):
                self.assigned = int(line.split()[1])
            if line.startswith(prefix):
                return line

    def go(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(b"go\n")

    async def done(self) -> dict[str, Any]:
        self.result = json.loads((await self.until("done "))[5:])
        await self.process.wait()
        return self.result


async def run_children(children: Sequence[Child]) -> tuple[float, list[dict[str, Any]]]:
    for child in children:
        child.go()
    started = time.perf_counter()
    results = await asyncio.gather(*(c.done() for c in children))
    return time.perf_counter() - started, list(results)


async def members_settled(children: Sequence[Child], seconds: float = 120) -> None:
    """Wait until the group has split lindung.exposures between all its members."""
    deadline = time.perf_counter() + seconds

    async def watch(child: Child) -> None:
        while time.perf_counter() < deadline:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(child.until("assigned "), 0.5)
            if sum(c.assigned for c in children) == EXPOSURE_PARTITIONS and all(
                c.assigned for c in children
            ):
                return

    await asyncio.gather(*(watch(c) for c in children))
    if sum(c.assigned for c in children) != EXPOSURE_PARTITIONS:
        raise RuntimeError("the consumer group did not settle")


async def with_workers(
    base: Settings, args: argparse.Namespace, env: dict[str, str], workers: int
) -> dict[str, Any]:
    n = args.contacts
    async with fresh_database(base, Path(SERVICE.migrations_dir)) as settings:
        env = env | {"DATABASE_NAME": settings.database_name}
        engine = create_engine(settings)
        sessionmaker = create_sessionmaker(engine)
        contacts = [uuid.uuid4() for _ in range(n)]
        await seed_recipients(sessionmaker, contacts)
        group = unique("notifier-bench")
        await commit_ends(settings.kafka_bootstrap_servers, group)

        # Fan-out: W members of one consumer group, settled before the events are produced.
        fanout = [
            await Child.spawn("fanout", env, "--group", group, "--contacts", str(n))
            for _ in range(workers)
        ]
        await asyncio.gather(*(c.until("ready") for c in fanout))
        await members_settled(fanout)
        postmaster = await postmaster_pid(sessionmaker)
        for child in fanout:
            child.go()
        first_sent: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        producing = asyncio.create_task(produce_exposures(settings, contacts, first_sent))
        started = await first_sent
        machine_before, pg_before = machine_cpu(), process_tree_cpu(postmaster)
        await all_stored(sessionmaker, n, producing)
        window = time.time() - started
        machine_used = machine_cpu() - machine_before
        pg_used = process_tree_cpu(postmaster) - pg_before
        produce_seconds = await producing
        for child in fanout:
            child.go()  # "stop": report the CPU used and leave the group
        fanout_results = await asyncio.gather(*(c.done() for c in fanout))
        fanout_seconds = max(r["last_commit"] for r in fanout_results) - started
        notifications = await count(sessionmaker, "SELECT count(*) FROM notifications")
        deliveries = await count(sessionmaker, "SELECT count(*) FROM deliveries")

        # Delivery, between two runs of as many plain clients.
        plain_args = ["--requests", str(args.plain_requests), "--concurrency", "8"]

        async def plain_run(http: str = "httpx") -> tuple[float, float]:
            plain = [
                await Child.spawn("plain", env, *plain_args, "--http", http) for _ in range(workers)
            ]
            await asyncio.gather(*(c.until("ready") for c in plain))
            seconds, results = await run_children(plain)
            calls = workers * args.plain_requests
            return calls / seconds, sum(r["cpu"] for r in results) / calls

        plain_before, plain_cpu = await plain_run()
        senders = [await Child.spawn("delivery", env) for _ in range(workers)]
        await asyncio.gather(*(c.until("ready") for c in senders))
        delivery_seconds, delivery_results = await run_children(senders)
        plain_after, _ = await plain_run()
        plain_rates = [plain_before, plain_after]
        aiohttp_rate, aiohttp_cpu = await plain_run("aiohttp")
        delivered = await count(
            sessionmaker, "SELECT count(*) FROM deliveries WHERE status = 'delivered'"
        )
        await engine.dispose()
    calls = sum(r["calls"] for r in delivery_results)
    plain_per_s = sum(plain_rates) / len(plain_rates)
    delivery_per_s = deliveries / delivery_seconds
    return {
        "workers": workers,
        "notifications": notifications,
        "deliveries_queued": deliveries,
        "delivered": delivered,
        "fanout_notifications_per_s": round(n / fanout_seconds),
        "fanout_seconds": round(fanout_seconds, 2),
        "produce_seconds": round(produce_seconds, 2),
        "fanout_cpu_ms_per_notification": round(
            1000 * sum(r["cpu"] for r in fanout_results) / n, 3
        ),
        "fanout_notifications_by_worker": [round(r["notifications"]) for r in fanout_results],
        "fanout_postgres_cpu_ms_per_notification": round(1000 * pg_used / n, 3),
        "fanout_machine_cpu_busy": f"{machine_used:.2f} of {window * CPUS:.2f} s",
        "delivery_calls_per_s": round(delivery_per_s),
        "plain_client_calls_per_s": round(plain_per_s),
        "plain_client_calls_per_s_before_after": [round(r) for r in plain_rates],
        "delivery_vs_plain": round(delivery_per_s / plain_per_s, 3),
        "delivery_cpu_ms_per_call": round(
            1000 * sum(r["cpu"] for r in delivery_results) / max(calls, 1), 3
        ),
        "plain_cpu_ms_per_call": round(1000 * plain_cpu, 3),
        "plain_aiohttp_calls_per_s": round(aiohttp_rate),
        "delivery_vs_plain_aiohttp": round(delivery_per_s / aiohttp_rate, 3),
        "plain_aiohttp_cpu_ms_per_call": round(1000 * aiohttp_cpu, 3),
        "load_average_1m": round(os.getloadavg()[0], 1),
    }


async def main_async(args: argparse.Namespace, gateway: str) -> dict[str, Any]:
    await wait_for_gateway(gateway + "/v1/sms")
    env = dict(os.environ) | {
        "NOTIFIER_SMS_URL": gateway + "/v1/sms",
        "NOTIFIER_PUSH_URL": gateway + "/v1/messages:send",
        "LINDUNG_LOG_LEVEL": "WARNING",
    }
    base = Settings()
    runs = [await with_workers(base, args, env, w) for w in args.workers]
    async with httpx.AsyncClient() as client:
        distinct = (await client.get(gateway + "/v1/sms")).json()["distinct"]
    return {
        "contacts": args.contacts,
        "runs": runs,
        "gateway_distinct_references": distinct,
        "load_average": [round(x, 1) for x in os.getloadavg()],
        "cpus": os.cpu_count(),
    }


def run_child(args: argparse.Namespace) -> None:
    """A child's stage; ``FANOUT_BENCH_PROFILE=DIR`` writes each child's cProfile there."""
    profile_dir = os.environ.get("FANOUT_BENCH_PROFILE")
    if not profile_dir:
        asyncio.run(child_main(args))
        return
    import cProfile

    with cProfile.Profile(time.process_time) as profile:
        asyncio.run(child_main(args))
    profile.dump_stats(f"{profile_dir}/{args.child}-{os.getpid()}.prof")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--contacts", type=int, default=10_000)
    parser.add_argument(
        "--workers",
        type=lambda v: [int(x) for x in v.split(",")],
        default=[1, 2],
        help="worker counts to measure, e.g. 1,2",
    )
    parser.add_argument("--plain-requests", type=int, default=3_000)
    parser.add_argument("--delivery-batch", type=int, default=Settings().delivery_batch_size)
    parser.add_argument("--serve-gateway", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--child", choices=("fanout", "delivery", "plain"), help=argparse.SUPPRESS)
    parser.add_argument("--group", help=argparse.SUPPRESS)
    parser.add_argument("--requests", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--concurrency", type=int, default=8, help=argparse.SUPPRESS)
    parser.add_argument(
        "--http", choices=("httpx", "aiohttp"), default="httpx", help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.serve_gateway:
        serve_gateway(args.serve_gateway)
        return
    if args.child:
        run_child(args)
        return
    port = free_port()
    gateway = subprocess.Popen(  # noqa: S603 (this very script, as the gateway)
        [sys.executable, __file__, "--serve-gateway", str(port)]
    )
    try:
        result = asyncio.run(main_async(args, f"http://127.0.0.1:{port}"))
    finally:
        gateway.terminate()
        gateway.wait(timeout=10)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
