"""The fault suite: the whole story (venues, people, feeds, check-ins, a positive case, close
contacts alerted, a negative test) runs with check-ins and venue registrations going on in
the background, while processes are killed -9 one at a time and restarted, a Kafka broker is
killed and restarted, and PostgreSQL is restarted.

Then, for every fault: the writes acknowledged (2xx) while it lasted, how many are stored,
lost and duplicated, and how long until the service was ready again. Every acknowledged write
must be stored exactly once, every close contact alerted exactly once, a revoked QR code
refused, and every service ready again within ``READY_WITHIN`` seconds.

``make test`` runs the bounded part on the stack's own Kafka: the check-in API, the check-in
and notifier workers killed -9, PostgreSQL restarted. ``make chaos``
(``LINDUNG_CHAOS_FULL=1``) runs a private three-broker KRaft cluster (replication factor 3,
min.insync.replicas 2) and two instances of every worker in one consumer group, and kills
every API, every worker instance and a broker."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from lindung_shared.auth import TokenIssuer
from lindung_shared.dbadmin import create_database, drop_database
from lindung_shared.events import TOPICS
from lindung_shared.kafka import ensure_topics
from lindung_shared.kafka.acls import apply_acls
from lindung_shared.kafka.security import kafka_security
from lindung_shared.manifest import installed_services
from lindung_shared.migrations import upgrade
from lindung_shared.settings import ServiceSettings, with_database

from ..e2e.story import CVX, NIK_SYSTEM, Story, Urls, nik_for
from .kafka_cluster import KafkaCluster
from .procs import ROOT, ServiceProcess

FULL = os.environ.get("LINDUNG_CHAOS_FULL") == "1"
pytestmark = [pytest.mark.slow, pytest.mark.chaos, pytest.mark.timeout(1500 if FULL else 600)]

#: Every service must answer /readyz 200 this long after its fault ended (restart or return).
READY_WITHIN = 90.0
DATABASES = {
    "venue-registry": "lindung_venue_registry",
    "checkin": "lindung_checkin",
    "health-records": "lindung_health_records",
    "notifier": "lindung_notifier",
}
RETRYABLE = {502, 503, 504}


@dataclass
class Ack:
    kind: str  # venue | checkin | checkout
    ident: str
    at: float


@dataclass
class Fault:
    name: str
    started: float = 0.0
    ended: float = 0.0
    ready_seconds: float = 0.0
    acks: list[Ack] = field(default_factory=list)
    lost: int = 0
    duplicated: int = 0


@dataclass
class SharedKafka:
    """The stack's own broker (the bounded run): never killed, only shared."""

    bootstrap: str
    nodes: tuple[()] = ()

    def wait_ready(self) -> float:
        return 0.0

    def stop(self) -> None:
        pass


Kafka = KafkaCluster | SharedKafka


def progress(text: str) -> None:
    print(f"chaos {time.strftime('%H:%M:%S')} {text}", flush=True)


class Suite:
    def __init__(self, workdir: Path, kafka: Kafka, suffix: str) -> None:
        self.kafka = kafka
        self.suffix = suffix
        self.processes: dict[str, ServiceProcess] = {}
        instances = 2 if FULL else 1
        for service, database in DATABASES.items():
            env = {
                "DATABASE_NAME": f"{database}_{suffix}",
                "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap,
                "LINDUNG_LOG_LEVEL": os.environ.get("LINDUNG_CHAOS_LOG_LEVEL", "WARNING"),
            }
            self.processes[f"{service}-api"] = ServiceProcess(service, "api", workdir, dict(env))
            for i in range(1, instances + 1):
                name = f"{service}-worker" + (f"-{i}" if FULL else "")
                self.processes[name] = ServiceProcess(service, "worker", workdir, dict(env))

    def api(self, service: str) -> ServiceProcess:
        return self.processes[f"{service}-api"]

    @property
    def urls(self) -> Urls:
        return Urls(*(self.api(s).url for s in DATABASES))

    def start(self) -> None:
        for process in self.processes.values():
            process.start()
        for process in self.processes.values():
            process.wait_ready(180)

    def stop(self) -> None:
        for process in self.processes.values():
            process.stop()


async def _make_databases(suffix: str) -> None:
    base = ServiceSettings()
    for manifest in installed_services():
        name = f"{manifest.database_name}_{suffix}"
        await create_database(base.server_url, name)
        url = with_database(base.database_url, name, driver="postgresql+asyncpg")
        await asyncio.to_thread(upgrade, manifest.migrations_dir, url)


async def _drop_databases(suffix: str) -> None:
    base = ServiceSettings()
    for database in DATABASES.values():
        with contextlib.suppress(Exception):
            await drop_database(base.server_url, f"{database}_{suffix}")


async def _query(database: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    base = ServiceSettings()
    conn = await asyncpg.connect(with_database(base.database_url, database))
    try:
        return list(await conn.fetch(sql, *args))
    finally:
        await conn.close()


class PatientStory(Story):
    """The e2e story, as a client with retries would run it: an outage (503, a refused or
    dropped connection) is retried for up to a minute; anything else still fails."""

    async def call(
        self, method: str, url: str, *, expect: int | tuple[int, ...] = 200, **kwargs: Any
    ) -> Any:
        deadline = time.monotonic() + 60
        while True:
            try:
                response = await self.http.request(method, url, **kwargs)
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.5)
                continue
            if response.status_code in RETRYABLE and time.monotonic() < deadline:
                await asyncio.sleep(0.5)
                continue
            wanted = (expect,) if isinstance(expect, int) else expect
            if response.status_code not in wanted:
                raise AssertionError(
                    f"{method} {url} answered {response.status_code}: {response.text[:500]}"
                )
            return response.json() if response.content else None

    async def until(self, what: str, check: Callable[[], Awaitable[Any]]) -> Any:
        async def tolerant() -> Any:
            try:
                return await check()
            except httpx.TransportError:
                return None

        return await super().until(what, tolerant)


class Load:
    """Background writes: venue registrations and check-ins/outs, each acknowledged one
    recorded with its time (only 2xx answers count; a 503 or a dropped connection is not
    acknowledged, and the client just goes on)."""

    def __init__(self, suite: Suite, issuer: TokenIssuer) -> None:
        self.suite = suite
        self.issuer = issuer
        self.acks: list[Ack] = []
        self.errors: Counter[str] = Counter()
        self.manager = {
            "Authorization": "Bearer "
            + issuer.issue(subject=f"chaos-manager-{uuid.uuid4().hex[:6]}", roles=["venue_manager"])
        }
        self.stop = asyncio.Event()

    async def venues(self, http: httpx.AsyncClient) -> None:
        n = 0
        while not self.stop.is_set():
            n += 1
            try:
                r = await http.post(
                    f"{self.suite.api('venue-registry').url}/v1/venues",
                    headers=self.manager,
                    json={
                        "name": f"Chaos {n}",
                        "category": "restaurant",
                        "address": "Jl. Kemang Raya",
                        "regency_code": "3171",
                        "latitude": -6.26,
                        "longitude": 106.81,
                        "capacity": 1000,
                        "max_stay_minutes": 120,
                        "entrances": ["main"],
                    },
                )
                if r.status_code == 201:
                    self.acks.append(Ack("venue", r.json()["id"], time.monotonic()))
                else:
                    self.errors[f"venue {r.status_code}"] += 1
            except httpx.TransportError as exc:
                self.errors[f"venue {type(exc).__name__}"] += 1
            await asyncio.sleep(0.3)

    async def green_people(self, story: Story, qr: str, people: int = 12) -> None:
        """Register people with two doses each, and wait until the check-in service admits
        them (it screens unknown people red until their status arrives over Kafka)."""
        self.tokens: list[dict[str, str]] = []
        entries = []
        base = uuid.uuid4().int % 5000 + 1000
        for i in range(people):
            born = date(1970 + i, 1 + i % 12, 1 + i)
            nik = nik_for("3171", 1 + i % 9, born, False, base + i)
            await story.dev.enrol(
                story.http,
                nik=nik,
                full_name=f"Chaos {i}",
                birth_date=born,
                sex="M",
                regency_code=nik[:4],
            )
            body = await story.call(
                "POST",
                f"{story.urls.health}/v1/people",
                expect=(200, 201),
                json={
                    "nik": nik,
                    "name": f"Chaos {i}",
                    "birth_date": born.isoformat(),
                    "phone": f"+62813{base:04d}{i:04d}",
                },
            )
            if body["person_id"] is None:
                # A NIK and phone of an earlier run (200): registration does not disclose an
                # existing person's id, so this one is left out of the load.
                continue
            self.tokens.append(
                {
                    "Authorization": "Bearer "
                    + self.issuer.issue(subject=body["person_id"], roles=["citizen"])
                }
            )
            for dose, days_ago in ((1, 120), (2, 90)):
                entries.append(
                    {
                        "resource": {
                            "resourceType": "Immunization",
                            "identifier": [
                                {
                                    "system": "https://sehatindonesiaku.kemkes.go.id/vaccination",
                                    "value": f"chaos-{base}-{i}-{dose}",
                                }
                            ],
                            "status": "completed",
                            "vaccineCode": {"coding": [{"system": CVX, "code": "511"}]},
                            "patient": {"identifier": {"system": NIK_SYSTEM, "value": nik}},
                            "occurrenceDateTime": (
                                datetime.now(UTC) - timedelta(days=days_ago)
                            ).isoformat(),
                            "protocolApplied": [{"doseNumberPositiveInt": dose}],
                        }
                    }
                )
        await story.call(
            "POST",
            f"{story.urls.health}/v1/feeds/fhir",
            headers=story.feed,
            json={"resourceType": "Bundle", "type": "batch", "entry": entries},
        )

        async def admitted(headers: dict[str, str]) -> bool:
            r = await story.http.post(
                f"{story.urls.checkin}/v1/checkins", headers=headers, json={"qr": qr}
            )
            if r.status_code == 200 and r.json()["outcome"] == "admitted":
                self.acks.append(Ack("checkin", r.json()["visit_id"], time.monotonic()))
                return True
            return False

        for headers in self.tokens:
            await story.until("a load person to be admitted", lambda h=headers: admitted(h))

    async def checkins(self, http: httpx.AsyncClient, qr: str) -> None:
        tokens = self.tokens
        people = len(tokens)
        i = 0
        while not self.stop.is_set():
            headers = tokens[i % people]
            i += 1
            try:
                r = await http.post(
                    f"{self.suite.api('checkin').url}/v1/checkins", headers=headers, json={"qr": qr}
                )
                body = r.json() if r.status_code == 200 else {}
                if body.get("visit_id") and body.get("outcome") in ("admitted", "checked_out"):
                    kind = "checkin" if body["outcome"] == "admitted" else "checkout"
                    self.acks.append(Ack(kind, body["visit_id"], time.monotonic()))
                elif r.status_code != 200:
                    self.errors[f"checkin {r.status_code}"] += 1
            except httpx.TransportError as exc:
                self.errors[f"checkin {type(exc).__name__}"] += 1
            await asyncio.sleep(0.05)


async def _ready_all(suite: Suite, started: float) -> float:
    """Seconds from ``started`` until every API answers /readyz 200."""
    async with httpx.AsyncClient(timeout=3) as http:
        while True:
            ok = True
            for service in DATABASES:
                try:
                    r = await http.get(f"{suite.api(service).url}/readyz")
                    ok = ok and r.status_code == 200
                except httpx.TransportError:
                    ok = False
            if ok:
                return time.monotonic() - started
            if time.monotonic() - started > READY_WITHIN * 2:
                return time.monotonic() - started
            await asyncio.sleep(0.2)


#: What with-stack.sh exports from .stack/env. ``stack.sh up`` takes a set variable for "use that
#: one" and rewrites .stack/env from what it was given: with the dev systems' three URLs set it
#: would write an env file without LINDUNG_DEVSYSTEMS_URL (the next run's tests would then look
#: for the dev systems on their default port).
_STACK_ENV = frozenset(
    {
        "DATABASE_URL",
        "KAFKA_BOOTSTRAP_SERVERS",
        "LINDUNG_STACK_OWNER",
        "LINDUNG_CIVIL_REGISTRY_URL",
        "NOTIFIER_SMS_URL",
        "NOTIFIER_PUSH_URL",
        "LINDUNG_DEVSYSTEMS_URL",
    }
)


def _restart_postgres() -> None:
    """Stop the local stack's PostgreSQL (fast shutdown: sessions are cut) and start it."""
    stack = str(ROOT / "deploy/local/stack.sh")
    # with-stack.sh exported the servers' URLs; `up` would then start nothing.
    env = {k: v for k, v in os.environ.items() if k not in _STACK_ENV}
    for command in ("down", "postgres"), ("up",):
        subprocess.run([stack, *command], check=True, capture_output=True, timeout=300, env=env)


async def _inject(suite: Suite, faults: list[Fault]) -> None:
    targets = [
        name
        for name in suite.processes
        if FULL or name in ("checkin-api", "checkin-worker", "notifier-worker")
    ]
    plan: list[tuple[str, Callable[[], Awaitable[float]]]] = []
    for name in targets:
        process = suite.processes[name]

        async def kill_process(process: ServiceProcess = process) -> float:
            process.kill9()
            started = time.monotonic()
            await asyncio.sleep(1.0)
            process.start()
            await asyncio.to_thread(process.wait_ready, READY_WITHIN * 2)
            return time.monotonic() - started

        plan.append((f"kill -9 {name}", kill_process))

    cluster = suite.kafka
    if isinstance(cluster, KafkaCluster):
        broker = cluster.nodes[-1]

        async def kill_broker() -> float:
            cluster.kill9(broker)
            started = time.monotonic()
            await asyncio.sleep(5.0)
            cluster.start(broker)
            await asyncio.to_thread(cluster.wait_ready, broker, READY_WITHIN * 2)
            return await _ready_all(suite, started)

        plan.append((f"kill -9 kafka broker {broker.node_id} of {len(cluster.nodes)}", kill_broker))

    async def restart_postgres() -> float:
        started = time.monotonic()
        await asyncio.to_thread(_restart_postgres)
        return await _ready_all(suite, started)

    if os.environ.get("LINDUNG_CHAOS_KEEP_POSTGRES") != "1":  # (debugging beside other tests)
        plan.append(("restart postgresql", restart_postgres))

    for name, action in plan:
        progress(f"fault: {name}")
        fault = Fault(name, started=time.monotonic())
        fault.ready_seconds = await action()
        progress(f"  ready again after {fault.ready_seconds:.1f}s")
        await asyncio.sleep(3.0)  # let the service settle under load before the next fault
        fault.ended = time.monotonic()
        faults.append(fault)


async def _assert_replicated(bootstrap: str) -> None:
    """Every catalogue topic of the three-broker cluster has three replicas of each partition
    and ``min.insync.replicas`` 2 (what makes a broker's kill -9 lose no acknowledged event)."""
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap, client_id="chaos-check", **kafka_security()
    )
    await admin.start()
    try:
        names = sorted(TOPICS)
        described = await admin.describe_topics(names)
        replicas = {
            t["topic"]: sorted({len(p["replicas"]) for p in t["partitions"]}) for t in described
        }
        (configs,) = await admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, n, configs=None) for n in names]
        )
        min_isr = {
            resource[3]: entry[1]
            for resource in configs.resources
            for entry in resource[4]
            if entry[0] == "min.insync.replicas"
        }
    finally:
        await admin.close()
    assert replicas == {n: [3] for n in names}, replicas
    assert min_isr == {n: "2" for n in names}, min_isr


@pytest.fixture
async def suite(tmp_path: Path) -> AsyncIterator[Suite]:
    kafka: Kafka
    clients = contextlib.ExitStack()
    if FULL:
        kafka = KafkaCluster(tmp_path / "kafka", size=3)
        kafka.start()
        # SASL/SCRAM and ACLs like the stack: the test as admin, each service its principal.
        clients.enter_context(kafka.as_client())
    else:
        kafka = SharedKafka(ServiceSettings().kafka_bootstrap_servers)
    suffix = f"chaos{uuid.uuid4().hex[:6]}"
    suite: Suite | None = None
    try:
        await asyncio.to_thread(kafka.wait_ready)
        await ensure_topics(kafka.bootstrap)
        if FULL:
            await apply_acls(kafka.bootstrap)
            await _assert_replicated(kafka.bootstrap)
        await _make_databases(suffix)
        logs = Path(os.environ.get("LINDUNG_CHAOS_LOGS", str(tmp_path)))
        await asyncio.to_thread(logs.mkdir, parents=True, exist_ok=True)
        suite = Suite(logs, kafka, suffix)
        await asyncio.to_thread(suite.start)
        yield suite
    finally:
        if suite is not None:
            suite.stop()
        kafka.stop()
        clients.close()
        await _drop_databases(suffix)


async def test_no_acknowledged_write_is_lost_or_duplicated_under_faults(suite: Suite) -> None:
    issuer = TokenIssuer.development(ServiceSettings())
    story = PatientStory(issuer, urls=suite.urls, narrate=lambda _: None, timeout=240.0)
    # The test's own calls (set-up, revocation) go through a second client: the story closes
    # its own when it ends.
    client = PatientStory(issuer, urls=suite.urls, narrate=lambda _: None, timeout=240.0)
    load = Load(suite, issuer)
    faults: list[Fault] = []
    async with httpx.AsyncClient(timeout=10) as http:
        # A venue and a QR code for the background check-ins; they are admitted once the
        # check-in service knows the venue (a 503 venue-not-yet-known until then).
        venue = await client.call(
            "POST",
            f"{suite.urls.registry}/v1/venues",
            expect=201,
            headers=load.manager,
            json={
                "name": "Chaos Mall",
                "category": "mall",
                "address": "Jl. Sudirman",
                "regency_code": "3171",
                "latitude": -6.2,
                "longitude": 106.8,
                "capacity": 100000,
                "max_stay_minutes": 240,
                "entrances": ["main", "side"],
            },
        )
        qr = await client.call(
            "POST",
            f"{suite.urls.registry}/v1/venues/{venue['id']}/qr-codes",
            expect=201,
            headers=load.manager,
            json={"entrance": "main"},
        )
        revoked = await client.call(
            "POST",
            f"{suite.urls.registry}/v1/venues/{venue['id']}/qr-codes",
            expect=201,
            headers=load.manager,
            json={"entrance": "side"},
        )
        progress("suite ready; registering the background load's people")
        await load.green_people(client, qr["payload"])
        progress("load people admitted; the story and the load start, then the faults")
        drivers = [
            asyncio.create_task(load.venues(http)),
            asyncio.create_task(load.checkins(http, qr["payload"])),
        ]
        story_task = asyncio.create_task(story.run())
        await asyncio.sleep(5)
        await _inject(suite, faults)

        # Revocation after the faults: the code is refused at the door within a minute.
        await client.call(
            "DELETE",
            f"{suite.urls.registry}/v1/venues/{venue['id']}/qr-codes/{revoked['id']}",
            expect=204,
            headers=load.manager,
        )
        citizen = {
            "Authorization": "Bearer " + issuer.issue(subject=str(uuid.uuid4()), roles=["citizen"])
        }
        revoked_after = time.monotonic()
        while True:
            r = await http.post(
                f"{suite.urls.checkin}/v1/checkins",
                headers=citizen,
                json={"qr": revoked["payload"]},
            )
            if r.status_code == 410:
                break
            assert time.monotonic() - revoked_after < 60, ("revocation not in force", r.text)
            await asyncio.sleep(0.5)
        revocation_seconds = time.monotonic() - revoked_after

        progress(f"faults done; revocation in force after {revocation_seconds:.1f}s")
        try:
            await asyncio.wait_for(story_task, 600)
        except Exception as exc:
            # Where each sign-in code is on its way (health-records outbox -> Kafka ->
            # notifier -> SMS gateway), so a story stuck waiting for one says where.
            raise AssertionError(f"{exc}\n{await _sign_in_trail(suite, story)}") from exc
        await client.close()
        progress("story done")
        load.stop.set()
        await asyncio.gather(*drivers)

    report = await _verify(suite, load, faults, story, revocation_seconds)
    print(report)
    (ROOT / ".stack").mkdir(exist_ok=True)
    (ROOT / ".stack" / ("chaos-report-full.txt" if FULL else "chaos-report.txt")).write_text(report)


async def _sign_in_trail(suite: Suite, story: Story) -> str:
    health_db = f"{DATABASES['health-records']}_{suite.suffix}"
    notifier_db = f"{DATABASES['notifier']}_{suite.suffix}"
    lines = ["sign-in codes on their way:"]
    for p in getattr(story, "everyone", []):
        if not p.person_id:
            continue
        codes = await _query(
            health_db,
            "SELECT count(*) AS n FROM sign_in_codes WHERE person_id = $1::uuid",
            p.person_id,
        )
        waiting = await _query(
            health_db,
            "SELECT count(*) AS n FROM outbox WHERE type = 'sign_in.code_issued' AND key = $1",
            p.person_id,
        )
        deliveries = await _query(
            notifier_db,
            "SELECT d.status, d.attempts, d.last_error FROM notifications n "
            "JOIN deliveries d ON d.notification_id = n.id "
            "WHERE n.recipient = $1 AND n.kind = 'sign_in_code'",
            p.person_id,
        )
        async with httpx.AsyncClient(timeout=10) as http:
            sms = await story.dev.sms_to(http, p.phone)
        lines.append(
            f"  {p.name}: codes issued {codes[0]['n']}, still in the outbox {waiting[0]['n']}, "
            f"deliveries {[tuple(d) for d in deliveries]}, SMS at the gateway {len(sms)}"
        )
    return "\n".join(lines)


async def _verify(
    suite: Suite,
    load: Load,
    faults: list[Fault],
    story: Story,
    revocation_seconds: float,
) -> str:
    registry_db = f"{DATABASES['venue-registry']}_{suite.suffix}"
    checkin_db = f"{DATABASES['checkin']}_{suite.suffix}"
    notifier_db = f"{DATABASES['notifier']}_{suite.suffix}"
    venue_ids = [a.ident for a in load.acks if a.kind == "venue"]
    visit_ids = [a.ident for a in load.acks if a.kind in ("checkin", "checkout")]
    venues = Counter(
        str(r["id"])
        for r in await _query(
            registry_db, "SELECT id FROM venues WHERE id = ANY($1::uuid[])", venue_ids
        )
    )
    visits = Counter(
        str(r["visit_id"])
        for r in await _query(
            checkin_db, "SELECT visit_id FROM visits WHERE visit_id = ANY($1::uuid[])", visit_ids
        )
    )
    closed = {
        str(r["visit_id"])
        for r in await _query(
            checkin_db,
            "SELECT visit_id FROM visits WHERE visit_id = ANY($1::uuid[]) "
            "AND checked_out_at IS NOT NULL",
            visit_ids,
        )
    }

    def stored(ack: Ack) -> int:
        if ack.kind == "venue":
            return venues[ack.ident]
        if ack.kind == "checkout":
            return visits[ack.ident] if ack.ident in closed else 0
        return visits[ack.ident]

    # Checked in then out: the same visit row answers both acks.
    everything = Fault("whole run", acks=load.acks)
    for fault in [*faults, everything]:
        if fault is not everything:
            fault.acks = [a for a in load.acks if fault.started <= a.at <= fault.ended]
        for ack in fault.acks:
            n = stored(ack)
            fault.lost += n == 0
            fault.duplicated += n > 1

    # Every venue acknowledged reached the check-in service (the relay is not stuck).
    deadline = time.monotonic() + 120
    while True:
        known = await _query(
            checkin_db,
            "SELECT count(*) AS n FROM venues WHERE venue_id = ANY($1::uuid[])",
            venue_ids,
        )
        if known[0]["n"] == len(set(venue_ids)) or time.monotonic() > deadline:
            break
        await asyncio.sleep(1)
    venues_known = known[0]["n"]

    # Close contacts alerted exactly once each.
    contacts = {p.name: p.person_id for p in (story.budi, story.fajar, story.eko)}
    alerts = Counter(
        r["recipient"]
        for r in await _query(
            notifier_db,
            "SELECT recipient FROM notifications WHERE kind LIKE '%exposure%' "
            "AND recipient = ANY($1::text[])",
            list(contacts.values()),
        )
    )

    lines = [
        f"chaos ({'full' if FULL else 'bounded'}): "
        f"{len(suite.kafka.nodes) or 'the stack'}'s broker(s), "
        f"{sum(1 for n in suite.processes if 'worker' in n)} worker processes",
        f"{'fault':<44} {'acked':>6} {'stored':>6} {'lost':>5} {'dup':>4} {'ready s':>8}",
    ]
    for fault in [*faults, everything]:
        acked = len(fault.acks)
        lines.append(
            f"{fault.name:<44} {acked:>6} {acked - fault.lost:>6} {fault.lost:>5} "
            f"{fault.duplicated:>4} {fault.ready_seconds:>8.1f}"
        )
    lines.append(f"venues known to check-in: {venues_known} of {len(set(venue_ids))}")
    lines.append(f"close contacts alerted: {dict((k, alerts[v]) for k, v in contacts.items())}")
    lines.append(f"revoked QR refused after {revocation_seconds:.1f}s")
    lines.append(f"client-side errors (not acknowledged, retried): {dict(load.errors)}")
    report = "\n".join(lines)

    # An outage answers 503 with Retry-After (or the connection is refused while a process is
    # down); a 500 is a fault classified as a bug.
    assert not [e for e in load.errors if e.endswith(" 500")], report
    assert everything.lost == 0, report
    assert everything.duplicated == 0, report
    assert venues_known == len(set(venue_ids)), report
    assert all(alerts[pid] == 1 for pid in contacts.values()), report
    assert all(f.ready_seconds <= READY_WITHIN for f in faults), report
    assert len(load.acks) > 50, report
    return report
