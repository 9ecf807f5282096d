"""Notification fan-out benchmark: a 10,000-contact case, end to end on this machine.

    source deploy/local/activate.sh
    python services/notifier/bench/fanout_bench.py [--contacts 10000]

What it does, on a fresh throwaway database and the shared Kafka:

1. starts a local SMS gateway (a bare ASGI app under uvicorn, in its own process) that
   answers each ``{"to", "text", "reference"}`` with a message id and counts distinct
   references;
2. measures that gateway's own ceiling: requests per second from a plain httpx client
   (at 1, the worker's, and 64 concurrent connections), i.e. the limit of what any httpx
   sender here can hand it;
3. seeds N recipients with phones, produces N ``exposure.detected`` events (one per contact)
   to ``lindung.exposures``, then runs the notifier's consumer and delivery worker
   and then its delivery worker, and times the two stages:
   - fan-out: events consumed -> notifications rendered and stored, SMS deliveries queued;
   - delivery: queued SMS -> accepted by the gateway (status delivered);
   end to end is N / (fan-out + delivery).
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
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition
from lindung_notifier.consumers import TOPICS, build_consumer
from lindung_notifier.delivery.worker import DeliveryWorker
from lindung_notifier.manifest import SERVICE
from lindung_notifier.settings import Settings
from lindung_notifier.worker import make_channels
from lindung_shared.db import create_engine, create_sessionmaker
from lindung_shared.events import TOPICS as CATALOGUE_TOPICS
from lindung_shared.events import encode_envelope
from lindung_shared.events.catalogue import ExposureDetected, make_event
from lindung_shared.kafka import create_producer
from lindung_shared.testing import fresh_database, unique
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
            reference = orjson.loads(body)["reference"]
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
        for _ in range(200):
            with contextlib.suppress(httpx.TransportError):
                await client.get(url)
                return
            await asyncio.sleep(0.05)
    raise RuntimeError("gateway did not start")


# --- the measurements -------------------------------------------------------------------------


async def gateway_ceiling(url: str, requests: int, concurrency: int, offset: int = 0) -> float:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits) as client:
        queue: asyncio.Queue[int] = asyncio.Queue()
        for i in range(requests):
            queue.put_nowait(i)

        async def sender() -> None:
            while not queue.empty():
                i = queue.get_nowait() + offset
                payload = {"to": "+62811000000", "text": "x" * 160, "reference": f"ceiling-{i}"}
                response = await client.post(url, json=payload)
                response.raise_for_status()

        started = time.perf_counter()
        await asyncio.gather(*(sender() for _ in range(concurrency)))
        return requests / (time.perf_counter() - started)


async def seed_recipients(sessionmaker: Any, contacts: list[uuid.UUID]) -> None:
    async with sessionmaker() as session, session.begin():
        await session.execute(
            text(
                "INSERT INTO recipients (subject, phone_e164, language, updated_at) "
                "SELECT s, '+6281' || lpad(n::text, 9, '0'), "
                "       CASE WHEN n % 3 = 0 THEN 'en' ELSE 'id' END, now() "
                "FROM unnest(CAST(:subjects AS text[])) WITH ORDINALITY AS t(s, n)"
            ),
            {"subjects": [str(c) for c in contacts]},
        )


async def commit_ends(bootstrap: str, group: str) -> None:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False
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


async def produce_exposures(settings: Settings, contacts: list[uuid.UUID]) -> float:
    producer = create_producer(settings.kafka_bootstrap_servers, client_id="notifier-bench")
    await producer.start()
    case_end = datetime.now(UTC) - timedelta(days=1)
    started = time.perf_counter()
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


async def count(sessionmaker: Any, sql: str) -> int:
    async with sessionmaker() as session:
        return int((await session.execute(text(sql))).scalar_one())


async def until(sessionmaker: Any, sql: str, n: int, seconds: float = 300) -> None:
    deadline = time.perf_counter() + seconds
    while await count(sessionmaker, sql) < n:
        if time.perf_counter() > deadline:
            raise RuntimeError(f"not reached in {seconds} s: {sql}")
        await asyncio.sleep(0.02)


async def pipeline(settings: Settings, gateway_url: str, n: int) -> dict[str, float]:
    engine = create_engine(settings)
    sessionmaker = create_sessionmaker(engine)
    contacts = [uuid.uuid4() for _ in range(n)]
    await seed_recipients(sessionmaker, contacts)
    group = unique("notifier-bench")
    await commit_ends(settings.kafka_bootstrap_servers, group)
    produce_seconds = await produce_exposures(settings, contacts)

    producer = create_producer(settings.kafka_bootstrap_servers, client_id="notifier-bench-dlq")
    await producer.start()
    client = httpx.AsyncClient(
        limits=httpx.Limits(
            max_connections=settings.delivery_concurrency,
            max_keepalive_connections=settings.delivery_concurrency,
        )
    )
    consumer = build_consumer(
        settings, group_id=group, sessionmaker=sessionmaker, dead_letters=producer
    )
    worker = DeliveryWorker(settings, sessionmaker, make_channels(settings, client))

    stop = asyncio.Event()
    consuming = asyncio.create_task(consumer.run(stop))
    try:
        # Stage 1, fan-out: events consumed -> notifications rendered and stored, one SMS
        # delivery queued per contact.
        started, cpu = time.perf_counter(), time.process_time()
        await until(sessionmaker, "SELECT count(*) FROM deliveries", n)
        stored_seconds = time.perf_counter() - started
        stored_cpu = time.process_time() - cpu
        # Stage 2, delivery: queued SMS -> accepted by the gateway (status delivered).
        started = time.perf_counter()
        while (
            await count(sessionmaker, "SELECT count(*) FROM deliveries WHERE status = 'delivered'")
            < n
        ):
            if await worker.run_once() == 0:
                await asyncio.sleep(0.02)
        delivered_seconds = time.perf_counter() - started
        delivered_cpu = time.process_time() - cpu
    finally:
        stop.set()
        await asyncio.gather(consuming, return_exceptions=True)
        await client.aclose()
        await producer.stop()
    notifications = await count(sessionmaker, "SELECT count(*) FROM notifications")
    await engine.dispose()
    return {
        "produce_seconds": produce_seconds,
        "stored_seconds": stored_seconds,
        "delivered_seconds": delivered_seconds,
        "stored_cpu_seconds": stored_cpu,
        "delivered_cpu_seconds": delivered_cpu,
        "notifications": notifications,
    }


async def main_async(args: argparse.Namespace, url: str) -> dict[str, Any]:
    await wait_for_gateway(url)
    ceilings: dict[int, int] = {}
    ceiling_requests = 0
    for c in sorted({1, args.concurrency, 64}):
        requests = args.ceiling_requests if c == args.concurrency else args.ceiling_requests // 4
        ceilings[c] = round(
            await gateway_ceiling(url, requests, concurrency=c, offset=ceiling_requests)
        )
        ceiling_requests += requests
    base = Settings(
        NOTIFIER_SMS_URL=url,
        delivery_batch_size=args.delivery_batch,
        delivery_concurrency=args.concurrency,
    )
    async with fresh_database(base, Path(SERVICE.migrations_dir)) as settings:
        result = await pipeline(settings, url, args.contacts)
    async with httpx.AsyncClient() as client:
        distinct = (await client.get(url)).json()["distinct"]
    n = args.contacts
    return {
        "contacts": n,
        "gateway_ceiling_per_s": ceilings[args.concurrency],
        "gateway_ceiling_by_concurrency": ceilings,
        "fanout_per_s": round(n / result["stored_seconds"]),
        "delivery_per_s": round(n / result["delivered_seconds"]),
        "end_to_end_per_s": round(n / (result["stored_seconds"] + result["delivered_seconds"])),
        "stored_seconds": round(result["stored_seconds"], 2),
        "delivered_seconds": round(result["delivered_seconds"], 2),
        "produce_seconds": round(result["produce_seconds"], 2),
        # CPU of this (worker) process only; PostgreSQL, Kafka and the gateway are apart.
        "fanout_worker_cpu_ms_per_notification": round(1000 * result["stored_cpu_seconds"] / n, 3),
        "delivery_worker_cpu_ms_per_sms": round(1000 * result["delivered_cpu_seconds"] / n, 3),
        "load_average_1m": round(os.getloadavg()[0], 1),
        "notifications": result["notifications"],
        "sms_received_distinct": distinct - ceiling_requests,
        "cpus": os.cpu_count(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--contacts", type=int, default=10_000)
    parser.add_argument("--ceiling-requests", type=int, default=2_000)
    parser.add_argument("--concurrency", type=int, default=Settings().delivery_concurrency)
    parser.add_argument("--delivery-batch", type=int, default=1000)
    parser.add_argument("--serve-gateway", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_gateway:
        serve_gateway(args.serve_gateway)
        return
    port = free_port()
    gateway = subprocess.Popen(  # noqa: S603 (this very script, as the gateway)
        [sys.executable, __file__, "--serve-gateway", str(port)]
    )
    try:
        result = asyncio.run(main_async(args, f"http://127.0.0.1:{port}/v1/sms"))
    finally:
        gateway.terminate()
        gateway.wait(timeout=10)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
