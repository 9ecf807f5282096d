"""Suspected cases (PDP) told end to end through the four services' public APIs.

The plot: a mall and a market register; six people register, are vaccinated and sign in. Ayu
and Budi are at the mall, Dewi and Eko at the market. The surveillance system reports Ayu and
Dewi as suspected cases (a COVID-19 Condition, verification status provisional): Budi and
Eko are advised to watch for symptoms and get tested (their colour stays green), each once,
and the managers are told a suspected case visited. Ayu's Condition is then confirmed: Budi's
advisory becomes a close-contact alert (one alert, naming the advisory it upgrades; his status
turns black). Dewi's is refuted: Eko's advisory is withdrawn with a correction, and the
market's manager is told the same.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.e2e.story import NIK_SYSTEM, SNOMED, Person, Story

VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"


class SuspectStory(Story):
    async def venues(self) -> None:
        await super().venues()
        self.market = await self.call(
            "POST",
            f"{self.urls.registry}/v1/venues",
            expect=201,
            headers=self.manager,
            json={
                "name": f"Pasar Lindung {self.run_id}",
                "category": "mall",
                "address": "Jl. Pasar Minggu",
                "regency_code": "3171",
                "latitude": -6.28,
                "longitude": 106.84,
                "capacity": 500,
                "max_stay_minutes": 240,
                "entrances": ["depan"],
            },
        )
        self.market_qr = await self.call(
            "POST",
            f"{self.urls.registry}/v1/venues/{self.market['id']}/qr-codes",
            expect=201,
            headers=self.manager,
            json={"entrance": "depan"},
        )

    async def admit(self, person: Person, qr: dict[str, Any], where: str) -> None:
        async def admitted() -> dict[str, Any] | None:
            response = await self.http.post(
                f"{self.urls.checkin}/v1/checkins",
                headers=person.headers,
                json={"qr": qr["payload"]},
            )
            if response.status_code == 200 and response.json()["outcome"] == "admitted":
                answer: dict[str, Any] = response.json()
                return answer
            return None

        await self.until(f"{person.name} to be admitted at the {where}", admitted)

    async def condition(self, person: Person, verification: str, version: int) -> dict[str, Any]:
        resource = {
            "resourceType": "Condition",
            "meta": {"versionId": str(version)},
            "identifier": [
                {
                    "system": "https://surveillance.example.id/pdp",
                    "value": f"{self.run_id}-{person.name}",
                }
            ],
            "verificationStatus": {"coding": [{"system": VERIFICATION, "code": verification}]},
            "code": {"coding": [{"system": SNOMED, "code": "840539006"}]},
            "subject": {"identifier": {"system": NIK_SYSTEM, "value": person.nik}},
            "onsetDateTime": self.onset.isoformat(),
        }
        answer: dict[str, Any] = await self.call(
            "POST",
            f"{self.urls.health}/v1/feeds/fhir",
            headers=self.feed,
            json={"resourceType": "Bundle", "type": "batch", "entry": [{"resource": resource}]},
        )
        return answer

    async def inbox(self, headers: dict[str, str], kind: str) -> list[dict[str, Any]]:
        page = await self.call("GET", f"{self.urls.notifier}/v1/notifications", headers=headers)
        return [n for n in page["items"] if n["kind"] == kind]

    async def colour(self, person: Person) -> str:
        status = await self.call(
            "GET", f"{self.urls.health}/v1/people/me/status", headers=person.headers
        )
        return str(status["colour"])

    async def suspects(self) -> None:
        self.narrate("Ayu and Budi are at the mall, Dewi and Eko at the market.")
        for person, qr, where in (
            (self.ayu, self.mall_qr, "mall"),
            (self.budi, self.mall_qr, "mall"),
            (self.dewi, self.market_qr, "market"),
            (self.eko, self.market_qr, "market"),
        ):
            await self.admit(person, qr, where)
        self.onset = datetime.now(UTC) - timedelta(minutes=5)

        self.narrate("A Condition without a verification status is refused, saying why.")
        bad = await self.call(
            "POST",
            f"{self.urls.health}/v1/feeds/fhir",
            headers=self.feed,
            json={
                "resourceType": "Bundle",
                "type": "batch",
                "entry": [
                    {
                        "resource": {
                            "resourceType": "Condition",
                            "identifier": [{"system": "https://x.example", "value": self.run_id}],
                            "code": {"coding": [{"system": SNOMED, "code": "840539006"}]},
                            "subject": {
                                "identifier": {"system": NIK_SYSTEM, "value": self.ayu.nik}
                            },
                            "onsetDateTime": self.onset.isoformat(),
                        }
                    }
                ],
            },
        )
        self.results["bad_condition"] = bad["entry"][0]

        self.narrate("The surveillance system reports Ayu and Dewi as suspected cases (PDP).")
        for person in (self.ayu, self.dewi):
            answer = await self.condition(person, "provisional", 1)
            assert answer["accepted"] == 1, answer
        # Redelivered by the feed: a duplicate, nothing more.
        again = await self.condition(self.ayu, "provisional", 1)
        self.results["redelivered"] = again["entry"][0]["lindung"]["result"]

        for person in (self.budi, self.eko):
            items = await self.until(
                f"{person.name}'s advisory",
                lambda p=person: self.inbox(p.headers, "exposure_advisory"),
            )
            self.narrate(f"  to {person.name}: {items[0]['title']}")
            self.narrate(f"    {items[0]['body']}")
        managers = await self.until(
            "both venues' suspect alerts",
            lambda: self._at_least(self.inbox(self.manager, "venue_suspect"), 2),
        )
        self.narrate(f"  to the managers: {managers[0]['title']}")
        for person in (self.ayu, self.budi, self.dewi, self.eko):
            self.results[f"colour_suspected_{person.name}"] = await self.colour(person)

        self.narrate("Ayu's Condition is confirmed; Dewi's is refuted.")
        await self.condition(self.ayu, "confirmed", 2)
        await self.condition(self.dewi, "refuted", 2)

        async def black(p: Person) -> bool:
            return await self.colour(p) == "black"

        for p in (self.ayu, self.budi):
            await self.until(f"{p.name} to turn black", lambda p=p: black(p))
        upgraded = await self.until(
            "Budi's close-contact alert", lambda: self.inbox(self.budi.headers, "exposure")
        )
        self.narrate(f"  to Budi: {upgraded[0]['title']}")
        withdrawn = await self.until(
            "Eko's correction",
            lambda: self.inbox(self.eko.headers, "exposure_advisory_correction"),
        )
        self.narrate(f"  to Eko: {withdrawn[0]['title']}")
        await self.until(
            "the market's correction",
            lambda: self.inbox(self.manager, "venue_suspect_correction"),
        )
        await self.until("the mall's case alert", lambda: self.inbox(self.manager, "venue_case"))
        # Late duplicates would have arrived by now: give the pipeline a moment more.
        await self._settle()
        for p in (self.budi, self.eko):
            page = await self.call(
                "GET", f"{self.urls.notifier}/v1/notifications", headers=p.headers
            )
            self.results[f"inbox_{p.name}"] = page["items"]
        self.results["inbox_manager"] = (
            await self.call("GET", f"{self.urls.notifier}/v1/notifications", headers=self.manager)
        )["items"]
        for person in (self.dewi, self.eko):
            self.results[f"colour_after_{person.name}"] = await self.colour(person)

    @staticmethod
    async def _at_least(items: Any, n: int) -> list[dict[str, Any]] | None:
        found = await items
        return found if len(found) >= n else None

    async def _settle(self) -> None:
        import asyncio

        await asyncio.sleep(3)

    async def run(self) -> dict[str, Any]:
        try:
            await self.venues()
            await self.people()
            await self.vaccinations()
            await self.suspects()
        finally:
            await self.close()
        return self.results
