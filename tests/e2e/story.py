"""The whole Lindung story, told through the four services' public APIs.

Used by the end-to-end test (which asserts every step) and by ``make demo`` (which narrates
it). Only HTTP calls to the running services: the venue registry, health records, check-in
and the notifier talk to each other over Kafka exactly as in production.

The plot: a mall and a café register and print posters; five people register and their
vaccinations arrive from the national registry's feed (one of them, Citra, has none). Ayu
visited the mall six days ago together with Fajar, and twelve days ago together with Eko
(their phones uploaded those visits late, as offline batches). Today Ayu and Budi check in at
the mall; Citra is refused there for being unvaccinated; Dewi fills the one-seat café and Eko
is refused at capacity. Then the laboratory reports Ayu's PCR, sampled five days ago,
positive: the rule in force traces the seed's 14 days before the sample, so Budi, Fajar and
Eko (seven days before the sample: an infectious-period window of 2 days would miss him) are
close contacts, their status turns black, they and the mall's manager are notified. Fajar,
whose exposure was six days ago, tests negative today and is cleared.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
from lindung_shared.auth import Jurisdiction, TokenIssuer

from tests.e2e.devsystems import DevSystems

Narrate = Callable[[str], None]

NIK_SYSTEM = "https://fhir.kemkes.go.id/id/nik"
CVX = "http://hl7.org/fhir/sid/cvx"
LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"


@dataclass
class Urls:
    registry: str = "http://127.0.0.1:8001"
    checkin: str = "http://127.0.0.1:8002"
    health: str = "http://127.0.0.1:8003"
    notifier: str = "http://127.0.0.1:8004"


@dataclass
class Person:
    name: str
    full_name: str
    female: bool
    nik: str
    birth_date: date
    phone: str
    person_id: str = ""
    token: str = ""

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def nik_for(regency: str, district: int, born: date, female: bool, serial: int) -> str:
    day = born.day + (40 if female else 0)
    return f"{regency}{district:02d}{day:02d}{born.month:02d}{born.year % 100:02d}{serial:04d}"


@dataclass
class Story:
    issuer: TokenIssuer
    urls: Urls = field(default_factory=Urls)
    narrate: Narrate = print
    timeout: float = 90.0
    results: dict[str, Any] = field(default_factory=dict)
    dev: DevSystems = field(default_factory=DevSystems)

    def __post_init__(self) -> None:
        self.run_id = uuid.uuid4().hex[:6]
        self.manager_id = f"manager-{self.run_id}"
        self.manager = {
            "Authorization": "Bearer "
            + self.issuer.issue(subject=self.manager_id, roles=["venue_manager"])
        }
        self.feed = {
            "Authorization": "Bearer " + self.issuer.issue(subject="national-feeds", roles=["feed"])
        }
        self.officer = {
            "Authorization": "Bearer "
            + self.issuer.issue(
                subject=f"officer-{self.run_id}",
                roles=["health_officer"],
                jurisdiction=Jurisdiction.national(),
            )
        }
        self.http = httpx.AsyncClient(timeout=30)

    async def close(self) -> None:
        await self.http.aclose()

    # -- helpers ------------------------------------------------------------------------

    async def call(
        self, method: str, url: str, *, expect: int | tuple[int, ...] = 200, **kwargs: Any
    ) -> Any:
        response = await self.http.request(method, url, **kwargs)
        wanted = (expect,) if isinstance(expect, int) else expect
        if response.status_code not in wanted:
            raise AssertionError(
                f"{method} {url} answered {response.status_code}: {response.text[:500]}"
            )
        return response.json() if response.content else None

    async def until(self, what: str, check: Callable[[], Awaitable[Any]]) -> Any:
        deadline = time.monotonic() + self.timeout
        last: Any = None
        while time.monotonic() < deadline:
            last = await check()
            if last:
                return last
            await asyncio.sleep(0.5)
        raise AssertionError(f"timed out waiting for {what} (last: {last!r})")

    def _person(self, name: str, surname: str, index: int, female: bool) -> Person:
        born = date(1985 + index, 1 + index, 10 + index)
        serial = int(self.run_id[:4], 16) % 9000 + 100 * index + 1
        return Person(
            name=name,
            full_name=f"{name} {surname}",
            female=female,
            nik=nik_for("3171", 1 + index, born, female, serial),
            birth_date=born,
            phone=f"+62812{int(self.run_id, 16) % 10**6:06d}{index:02d}",
        )

    # -- the story ----------------------------------------------------------------------

    async def venues(self) -> None:
        self.narrate(
            "A mall and a café in Jakarta Selatan register with the venue registry; the mall "
            "moves over from an earlier check-in system and says it has received visitors for "
            "twenty days."
        )
        self.mall = await self.call(
            "POST",
            f"{self.urls.registry}/v1/venues",
            expect=201,
            headers=self.manager,
            json={
                "name": f"Mal Lindung {self.run_id}",
                "category": "mall",
                "address": "Jl. Metro Pondok Indah",
                "regency_code": "3171",
                "latitude": -6.2656,
                "longitude": 106.7838,
                "capacity": 500,
                "max_stay_minutes": 240,
                "entrances": ["Lobby utama"],
                "operating_since": (datetime.now(UTC) - timedelta(days=20)).isoformat(),
            },
        )
        self.cafe = await self.call(
            "POST",
            f"{self.urls.registry}/v1/venues",
            expect=201,
            headers=self.manager,
            json={
                "name": f"Kopi Satu Kursi {self.run_id}",
                "category": "restaurant",
                "address": "Jl. Kemang Raya",
                "regency_code": "3171",
                "latitude": -6.26,
                "longitude": 106.81,
                "capacity": 1,
                "max_stay_minutes": 120,
                "entrances": ["main"],
            },
        )
        self.mall_qr = await self.call(
            "POST",
            f"{self.urls.registry}/v1/venues/{self.mall['id']}/qr-codes",
            expect=201,
            headers=self.manager,
            json={"entrance": "Lobby utama"},
        )
        self.cafe_qr = await self.call(
            "POST",
            f"{self.urls.registry}/v1/venues/{self.cafe['id']}/qr-codes",
            expect=201,
            headers=self.manager,
            json={"entrance": "main"},
        )
        poster = await self.http.get(
            f"{self.urls.registry}/v1/venues/{self.mall['id']}/qr-codes/"
            f"{self.mall_qr['id']}/poster.pdf",
            headers=self.manager,
        )
        assert poster.status_code == 200
        assert poster.content.startswith(b"%PDF")
        self.results["poster_bytes"] = len(poster.content)
        self.narrate(
            f"  signed QR posters printed (mall poster: {len(poster.content):,} bytes "
            f"of PDF; payload starts {self.mall_qr['payload'][:24]}...)."
        )

    async def people(self) -> None:
        self.narrate(
            "Ayu, Budi, Citra, Dewi, Eko and Fajar register with their NIK and phone, and "
            "sign in with the code their phone receives by SMS."
        )
        self.ayu = self._person("Ayu", "Lestari", 0, True)
        self.budi = self._person("Budi", "Santoso", 1, False)
        self.citra = self._person("Citra", "Anggraini", 2, True)
        self.dewi = self._person("Dewi", "Kusumawati", 3, True)
        self.eko = self._person("Eko", "Prasetyo", 4, False)
        self.fajar = self._person("Fajar", "Nugroho", 5, False)
        self.everyone = [self.ayu, self.budi, self.citra, self.dewi, self.eko, self.fajar]
        for p in self.everyone:
            # The civil registry knows every resident; the development one is told of this
            # run's fictitious people first (their NIKs are new on every run).
            await self.dev.enrol(
                self.http,
                nik=p.nik,
                full_name=p.full_name,
                birth_date=p.birth_date,
                sex="F" if p.female else "M",
                regency_code=p.nik[:4],
            )
            body = await self.call(
                "POST",
                f"{self.urls.health}/v1/people",
                expect=(200, 201),
                json={
                    "nik": p.nik,
                    "name": p.full_name,
                    "birth_date": p.birth_date.isoformat(),
                    "phone": p.phone,
                },
            )
            p.person_id = body["person_id"] or ""
        for p in self.everyone:
            await self.sign_in(p)
        self.narrate("  everyone signed in with the code sent to their phone.")

    async def sign_in(self, p: Person) -> str:
        """Ask for a sign-in code, read it from the SMS gateway, trade it for a token."""
        seen = {m["id"] for m in await self.dev.sms_to(self.http, p.phone)}
        issued = await self.call(
            "POST",
            f"{self.urls.health}/v1/auth/otp",
            expect=202,
            json={"phone": p.phone, "nik": p.nik},
        )
        code = await self.dev.next_code(self.http, p.phone, seen, timeout=self.timeout)
        answer = await self.call(
            "POST",
            f"{self.urls.health}/v1/auth/token",
            json={"request_id": issued["request_id"], "code": code},
        )
        # Registration gives the id only to whoever created the person (a retried
        # registration answers without it): signing in is where it is learnt.
        if p.person_id:
            assert answer["person_id"] == p.person_id, (p.name, answer)
        p.person_id = answer["person_id"]
        p.token = answer["access_token"]
        return p.token

    async def vaccinations(self) -> None:
        self.narrate("The national vaccination registry sends two doses for everyone but Citra.")
        entries = []
        for i, p in enumerate(self.everyone):
            if p is self.citra:
                continue
            for dose, days_ago in ((1, 120), (2, 90)):
                entries.append(
                    {
                        "resource": {
                            "resourceType": "Immunization",
                            "identifier": [
                                {
                                    "system": "https://sehatindonesiaku.kemkes.go.id/vaccination",
                                    "value": f"{self.run_id}-{i}-{dose}",
                                }
                            ],
                            "status": "completed",
                            "vaccineCode": {"coding": [{"system": CVX, "code": "511"}]},
                            "patient": {"identifier": {"system": NIK_SYSTEM, "value": p.nik}},
                            "occurrenceDateTime": (
                                datetime.now(UTC) - timedelta(days=days_ago)
                            ).isoformat(),
                            "protocolApplied": [{"doseNumberPositiveInt": dose}],
                        }
                    }
                )
        answer = await self.call(
            "POST",
            f"{self.urls.health}/v1/feeds/fhir",
            headers=self.feed,
            json={"resourceType": "Bundle", "type": "batch", "entry": entries},
        )
        self.results["vaccination_feed"] = answer
        for p in self.everyone:
            expected = "red" if p is self.citra else "green"

            async def colour(p: Person = p, expected: str = expected) -> bool:
                status = await self.call(
                    "GET", f"{self.urls.health}/v1/people/me/status", headers=p.headers
                )
                return bool(status["colour"] == expected)

            await self.until(f"{p.name} to be {expected}", colour)
        self.narrate("  statuses: Citra red (not vaccinated), everyone else green.")

    async def checkin(self, person: Person, qr: dict[str, Any], **extra: Any) -> dict[str, Any]:
        answer: dict[str, Any] = await self.call(
            "POST",
            f"{self.urls.checkin}/v1/checkins",
            headers=person.headers,
            json={"qr": qr["payload"], **extra},
        )
        return answer

    async def visits(self) -> None:
        self.narrate(
            "Six days ago Ayu and Fajar were at the mall, twelve days ago Ayu and Eko; their "
            "phones upload those visits late, as offline batches."
        )
        now = datetime.now(UTC)
        offline = (
            (self.ayu, now - timedelta(days=12), "early"),
            (self.eko, now - timedelta(days=12, minutes=-30), "early"),
            (self.ayu, now - timedelta(days=6), "late"),
            (self.fajar, now - timedelta(days=6, minutes=-30), "late"),
        )
        for p, scanned_at, tag in offline:
            answer = await self.call(
                "POST",
                f"{self.urls.checkin}/v1/checkins/batch",
                headers=p.headers,
                json={
                    "items": [
                        {
                            "client_id": f"{self.run_id}-{p.name}-offline-{tag}",
                            "qr": self.mall_qr["payload"],
                            "scanned_at": scanned_at.isoformat(),
                        }
                    ]
                },
            )
            item = answer["items"][0]
            # "pending" when the mall's registration has not reached the check-in service
            # yet: the visit is held and recorded when it does (and re-matched if late).
            assert item["status"] in ("recorded", "pending"), item
            self.results[f"batch_{p.name}_{tag}"] = answer

        self.narrate(
            "Today the check-in service learns of the venues and colours over Kafka; "
            "Ayu and Budi check in at the mall."
        )

        async def admitted(p: Person, qr: dict[str, Any]) -> dict[str, Any] | None:
            response = await self.http.post(
                f"{self.urls.checkin}/v1/checkins", headers=p.headers, json={"qr": qr["payload"]}
            )
            if response.status_code == 200 and response.json()["outcome"] == "admitted":
                answer: dict[str, Any] = response.json()
                return answer
            return None

        for p in (self.ayu, self.budi):
            answer = await self.until(
                f"{p.name} to be admitted at the mall", lambda p=p: admitted(p, self.mall_qr)
            )
            self.narrate(
                f"  {p.name}: {answer['outcome']} ({answer['colour']}), "
                f"mall occupancy {answer['occupancy']['present']}/"
                f"{answer['occupancy']['capacity']}."
            )
        refused = await self.checkin(self.citra, self.mall_qr)
        assert refused["outcome"] == "refused", refused
        assert refused["colour"] == "red", refused
        self.results["citra"] = refused
        self.narrate(f"  Citra: refused ({refused['colour']}): {refused['reason']['en']}")
        dewi = await self.until(
            "Dewi to be admitted at the café", lambda: admitted(self.dewi, self.cafe_qr)
        )
        self.narrate(
            f"  Dewi: admitted at the café ({dewi['occupancy']['present']}/"
            f"{dewi['occupancy']['capacity']})."
        )
        # A visit the café cannot have had: it registered today and said nothing earlier.
        backdated = await self.call(
            "POST",
            f"{self.urls.checkin}/v1/checkins/batch",
            headers=self.dewi.headers,
            json={
                "items": [
                    {
                        "client_id": f"{self.run_id}-dewi-before-the-cafe",
                        "qr": self.cafe_qr["payload"],
                        "scanned_at": (datetime.now(UTC) - timedelta(days=3)).isoformat(),
                    }
                ]
            },
        )
        self.results["before_the_cafe"] = backdated["items"][0]
        self.narrate(
            "  An offline visit to the café from three days ago, before it existed: "
            f"{backdated['items'][0]['status']} ({backdated['items'][0].get('error')})."
        )

        async def refused_for_capacity() -> dict[str, Any] | None:
            # Until the check-in service has Eko's green status (its own copy, from Kafka),
            # it screens him as red and refuses him for that; a refusal changes nothing.
            answer = await self.checkin(self.eko, self.cafe_qr)
            assert answer["outcome"] == "refused", answer
            return answer if answer["reason"]["code"] == "venue_full" else None

        eko = await self.until("Eko to be refused at capacity", refused_for_capacity)
        self.results["eko"] = eko
        self.narrate(f"  Eko: refused at the café: {eko['reason']['en']}")

    async def pcr(self, person: Person, ident: str, sampled: datetime, positive: bool) -> None:
        """The laboratory system sends a SARS-CoV-2 PCR result (FHIR Observation)."""
        result = "10828004" if positive else "260385009"  # SNOMED: detected / not detected
        observation = {
            "resourceType": "Observation",
            "identifier": [
                {"system": "https://lab.example.id/result", "value": f"{self.run_id}-{ident}"}
            ],
            "status": "final",
            "code": {"coding": [{"system": LOINC, "code": "94500-6"}]},
            "subject": {"identifier": {"system": NIK_SYSTEM, "value": person.nik}},
            "effectiveDateTime": sampled.isoformat(),
            "valueCodeableConcept": {"coding": [{"system": SNOMED, "code": result}]},
        }
        await self.call(
            "POST",
            f"{self.urls.health}/v1/feeds/fhir",
            headers=self.feed,
            json={"resourceType": "Bundle", "type": "batch", "entry": [{"resource": observation}]},
        )

    async def positive_result(self) -> None:
        self.narrate("The laboratory reports Ayu's PCR, sampled five days ago: positive.")
        await self.pcr(self.ayu, "ayu-pcr", datetime.now(UTC) - timedelta(days=5), True)
        started = time.monotonic()

        async def black(p: Person) -> dict[str, Any] | None:
            status: dict[str, Any] = await self.call(
                "GET", f"{self.urls.health}/v1/people/me/status", headers=p.headers
            )
            return status if status["colour"] == "black" else None

        # Eko met Ayu seven days before her sample: only the 14-day look-back finds him.
        for p in (self.ayu, self.budi, self.fajar, self.eko):
            status = await self.until(f"{p.name} to turn black", lambda p=p: black(p))
            self.narrate(
                f"  {p.name}: black ({', '.join(status['reasons'])}) until "
                f"{status.get('valid_until')}."
            )
        self.results["seconds_to_black"] = round(time.monotonic() - started, 2)
        status = await self.call(
            "GET", f"{self.urls.health}/v1/people/me/status", headers=self.dewi.headers
        )
        assert status["colour"] == "green", ("Dewi", status)

    async def notifications(self) -> None:
        self.narrate("The notifier tells the close contacts and the mall's manager.")

        async def inbox(headers: dict[str, str], kind_word: str) -> list[dict[str, Any]] | None:
            page = await self.call("GET", f"{self.urls.notifier}/v1/notifications", headers=headers)
            items = [n for n in page["items"] if kind_word in n["kind"]]
            return items or None

        for p in (self.budi, self.fajar, self.eko):
            items = await self.until(
                f"{p.name}'s exposure notification", lambda p=p: inbox(p.headers, "exposure")
            )
            self.results[f"inbox_{p.name}"] = items
            self.narrate(f"  to {p.name} ({items[0]['language']}): {items[0]['title']}")
            self.narrate(f"    {items[0]['body']}")
        manager = await self.until(
            "the manager's venue alert", lambda: inbox(self.manager, "venue")
        )
        self.results["inbox_manager"] = manager
        self.narrate(f"  to the mall's manager: {manager[0]['title']}")
        for p in (self.dewi, self.citra):
            page = await self.call(
                "GET", f"{self.urls.notifier}/v1/notifications", headers=p.headers
            )
            assert not [n for n in page["items"] if "exposure" in n["kind"]], p.name

    async def negative_test(self) -> None:
        self.narrate("Fajar, exposed six days ago, takes a PCR today: negative.")
        await self.pcr(self.fajar, "fajar-pcr", datetime.now(UTC) - timedelta(hours=2), False)

        async def cleared() -> dict[str, Any] | None:
            status: dict[str, Any] = await self.call(
                "GET", f"{self.urls.health}/v1/people/me/status", headers=self.fajar.headers
            )
            return status if status["colour"] != "black" else None

        status = await self.until("Fajar to be cleared", cleared)
        self.narrate(
            f"  Fajar: {status['colour']} again. Budi stays in quarantine (exposed "
            "today; a negative test counts from day 5)."
        )
        budi = await self.call(
            "GET", f"{self.urls.health}/v1/people/me/status", headers=self.budi.headers
        )
        assert budi["colour"] == "black", budi

    async def run(self) -> dict[str, Any]:
        try:
            await self.venues()
            await self.people()
            await self.vaccinations()
            await self.visits()
            await self.positive_result()
            await self.notifications()
            await self.negative_test()
        finally:
            await self.close()
        return self.results
