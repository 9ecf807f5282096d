"""End to end across all four services, each running as its real API and worker processes
against the real PostgreSQL and Kafka: the whole story in tests/e2e/story.py."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from lindung_shared.auth import Jurisdiction, TokenIssuer
from lindung_shared.settings import ServiceSettings
from lindung_shared.testing import running_processes

from .pii_search import search_databases, search_topics
from .story import Story, Urls

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(400)]

ROOT = Path(__file__).resolve().parents[2]
# Ports away from `make run`'s, so the test also works beside a running suite.
# LINDUNG_E2E_PORT_BASE moves them, so that two checkouts can run the story side by side.
_BASE = int(os.environ.get("LINDUNG_E2E_PORT_BASE", "18000"))
SERVICES = {
    "venue-registry": ("lindung_venues", _BASE + 1, _BASE + 1101),
    "checkin": ("lindung_checkin", _BASE + 2, _BASE + 1102),
    "health-records": ("lindung_health", _BASE + 3, _BASE + 1103),
    "notifier": ("lindung_notifier", _BASE + 4, _BASE + 1104),
}


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Urls]:
    logs = tmp_path_factory.mktemp("e2e-logs")
    env = dict(os.environ, LINDUNG_ENV="development")
    for service, (_package, port, metrics) in SERVICES.items():
        prefix = service.upper().replace("-", "_")
        env[f"{prefix}_HTTP_PORT"] = str(port)
        env[f"{prefix}_WORKER_METRICS_PORT"] = str(metrics)
    commands = [
        (f"{service}-{role}", [sys.executable, "-m", f"{package}.{role}"])
        for service, (package, _port, _metrics) in SERVICES.items()
        for role in ("api", "worker")
    ]
    urls = [f"http://127.0.0.1:{port}" for _, port, _ in SERVICES.values()]
    with running_processes(commands, env=env, logs=logs, ready=urls, cwd=ROOT):
        yield Urls(*urls)


@pytest.fixture(scope="module")
def told(suite: Urls) -> tuple[Story, dict[str, Any]]:
    """The story, told once for the module's tests."""
    import asyncio

    lines: list[str] = []
    story = Story(TokenIssuer.development(ServiceSettings()), urls=suite, narrate=lines.append)
    try:
        results = asyncio.run(story.run())
    finally:
        print("\n".join(lines))
    return story, results


def test_the_whole_story(told: tuple[Story, dict[str, Any]]) -> None:
    _, results = told
    assert results["citra"]["colour"] == "red"
    assert results["eko"]["outcome"] == "refused"
    before = results["before_the_cafe"]
    assert (before["status"], before["error"]) == ("rejected", "before-venue-existed"), before
    assert results["seconds_to_black"] < 60
    budi = results["inbox_Budi"]
    assert len(budi) == 1, "one exposure, one notification: never twice"
    assert "Mal Lindung" in budi[0]["body"]
    assert "Ayu" not in budi[0]["body"], "a contact is never told who the case is"


#: Where the story's names and phone numbers may be stored in clear: nowhere. Health-records
#: keeps them as keyed hashes and AES-256-GCM ciphertext; the phone travels to the notifier and
#: rests there sealed (lindung_shared.sealing). Anything found anywhere fails.
KNOWN_IN_CLEAR: dict[str, set[str]] = {}


def test_no_personal_data_in_clear_after_the_story(told: tuple[Story, dict[str, Any]]) -> None:
    """Every table of every service database and every topic, searched for the story's NIKs,
    names and phone numbers: no NIK anywhere, names and phones only where listed above."""
    import asyncio

    story, _ = told
    needles: dict[str, str] = {}
    for person in story.everyone:
        needles[person.nik] = "nik"
        needles[person.full_name] = "name"
        needles[person.phone.removeprefix("+62")] = "phone"  # any format: +62..., 62..., 0...
        needles[person.person_id] = "person-id"  # the control: ids are everywhere

    async def search() -> dict[str, set[str]]:
        databases = await search_databases(needles)
        # The story's last status events may still be on their way from health-records' outbox
        # to their topic when the story ends: the topics are read again (0.5 s a pass) until the
        # control is seen there, for up to 30 s.
        deadline = time.monotonic() + 30
        while True:
            topics = await search_topics(needles)
            seen = "person-id" in topics.get("topic:lindung.health-status", set())
            if seen or time.monotonic() > deadline:
                return {**databases, **topics}
            await asyncio.sleep(1)

    found = asyncio.run(search())
    # The search sees what is there: person ids (as text) in the notifier's inbox rows and in
    # the status events on their topic.
    assert "person-id" in found.get("lindung_notifier.notifications.recipient", set()), found
    assert "person-id" in found.get("topic:lindung.health-status", set()), found
    personal = {
        where: labels - {"person-id"} for where, labels in found.items() if labels - {"person-id"}
    }
    unexpected = {
        where: labels - KNOWN_IN_CLEAR.get(where, set())
        for where, labels in personal.items()
        if labels - KNOWN_IN_CLEAR.get(where, set())
    }
    assert not unexpected, f"personal data in clear where it must not be: {unexpected}"
    assert not any("nik" in labels for labels in personal.values()), personal


def test_an_impostor_with_a_real_nik_is_refused(suite: Urls) -> None:
    """Issue 12: knowing a NIK (and guessing the rest) is not enough to register as its holder;
    the holder registers, proves the phone with the SMS code and is served."""
    import asyncio
    import uuid
    from datetime import date

    from .devsystems import DevSystems
    from .story import nik_for

    async def run() -> None:
        dev = DevSystems()
        born = date(2005, 3, 4)  # "1905-03-04" agrees with the NIK's digits too
        nik = nik_for("3171", 7, born, True, uuid.uuid4().int % 9000 + 1)
        phone = f"+62817{uuid.uuid4().int % 10**8:08d}"
        async with httpx.AsyncClient(timeout=30) as http:
            await dev.enrol(
                http,
                nik=nik,
                full_name="Ratna Sari Dewi",
                birth_date=born,
                sex="F",
                regency_code="3171",
            )
            impostor = {"nik": nik, "phone": "+6281700000001"}
            for wrong in (
                {"name": "Ratna Dewi", "birth_date": born.isoformat()},
                {"name": "Ratna Sari Dewi", "birth_date": "1905-03-04"},
            ):
                refused = await http.post(f"{suite.health}/v1/people", json=impostor | wrong)
                assert refused.status_code == 422, refused.text
                assert refused.json()["type"].endswith("/identity-not-verified")
            holder = await http.post(
                f"{suite.health}/v1/people",
                json={
                    "nik": nik,
                    "name": "ratna sari DEWI",
                    "birth_date": born.isoformat(),
                    "phone": phone,
                },
            )
            assert holder.status_code == 201, holder.text
            seen = {m["id"] for m in await dev.sms_to(http, phone)}
            asked = await http.post(
                f"{suite.health}/v1/auth/otp", json={"phone": phone, "nik": nik}
            )
            code = await dev.next_code(http, phone, seen)
            token = await http.post(
                f"{suite.health}/v1/auth/token",
                json={"request_id": asked.json()["request_id"], "code": code},
            )
            assert token.status_code == 200, token.text
            status = await http.get(
                f"{suite.health}/v1/people/me/status",
                headers={"Authorization": f"Bearer {token.json()['access_token']}"},
            )
            assert status.status_code == 200
            # The bound NIK cannot be taken over by a correct-looking registration either.
            taken = await http.post(
                f"{suite.health}/v1/people",
                json={
                    "nik": nik,
                    "name": "Ratna Sari Dewi",
                    "birth_date": born.isoformat(),
                    "phone": "+6281700000002",
                },
            )
            assert taken.status_code == 409

    asyncio.run(run())


def test_the_holder_recovers_the_nik_and_the_impostors_tokens_stop_everywhere(
    suite: Urls,
) -> None:
    """Issue 12, "Done when": an impostor who knows a NIK, name and birth date (a leak) binds
    the NIK to their phone and signs in; the real holder is refused (409), goes to a health
    officer, who re-binds the NIK to the holder's phone with a code sent there; within a
    second the impostor's token is refused by all four services, the impostor's phone is
    told, and the holder signs in."""
    import asyncio
    import uuid
    from datetime import date

    from .devsystems import DevSystems
    from .story import nik_for

    issuer = TokenIssuer.development(ServiceSettings())
    officer = {
        "Authorization": "Bearer "
        + issuer.issue(
            subject="officer-e2e-recovery",
            roles=["health_officer"],
            jurisdiction=Jurisdiction.parse("regencies:3171"),  # the NIK's regency
        )
    }

    async def sign_in(http: httpx.AsyncClient, dev: DevSystems, nik: str, phone: str) -> str:
        seen = {m["id"] for m in await dev.sms_to(http, phone)}
        asked = await http.post(f"{suite.health}/v1/auth/otp", json={"phone": phone, "nik": nik})
        assert asked.status_code == 202, asked.text
        code = await dev.next_code(http, phone, seen)
        token = await http.post(
            f"{suite.health}/v1/auth/token",
            json={"request_id": asked.json()["request_id"], "code": code},
        )
        assert token.status_code == 200, token.text
        access: str = token.json()["access_token"]
        return access

    def probes() -> dict[str, str]:
        return {
            "health-records": f"{suite.health}/v1/people/me/status",
            "checkin": f"{suite.checkin}/v1/visits",
            "notifier": f"{suite.notifier}/v1/notifications",
            "venue-registry": f"{suite.registry}/v1/zones",
        }

    async def run() -> None:
        dev = DevSystems()
        born = date(1988, 6, 15)
        nik = nik_for("3171", 7, born, False, uuid.uuid4().int % 9000 + 1)
        impostor_phone = f"+62817{uuid.uuid4().int % 10**8:08d}"
        holder_phone = f"+62818{uuid.uuid4().int % 10**8:08d}"
        who = {"nik": nik, "name": "Agus Salim Wibowo", "birth_date": born.isoformat()}
        async with httpx.AsyncClient(timeout=30) as http:
            await dev.enrol(
                http,
                nik=nik,
                full_name=who["name"],
                birth_date=born,
                sex="M",
                regency_code="3171",
            )
            registered = await http.post(
                f"{suite.health}/v1/people", json=who | {"phone": impostor_phone}
            )
            assert registered.status_code == 201, registered.text
            stolen = await sign_in(http, dev, nik, impostor_phone)
            auth = {"Authorization": f"Bearer {stolen}"}
            for service, url in probes().items():
                r = await http.get(url, headers=auth)
                assert r.status_code == 200, (service, r.status_code, r.text)

            refused = await http.post(
                f"{suite.health}/v1/people", json=who | {"phone": holder_phone}
            )
            assert refused.status_code == 409, refused.text

            seen = {m["id"] for m in await dev.sms_to(http, holder_phone)}
            started = await http.post(
                f"{suite.health}/v1/people/recovery",
                json={"nik": nik, "phone": holder_phone, "purpose": "KTP seen at Puskesmas"},
                headers=officer,
            )
            assert started.status_code == 202, started.text
            code = await dev.next_code(http, holder_phone, seen)
            told_before = {m["id"] for m in await dev.sms_to(http, impostor_phone)}
            done = await http.post(
                f"{suite.health}/v1/people/recovery/{started.json()['request_id']}/confirm",
                json={"code": code, "purpose": "the holder read the code to the officer"},
                headers=officer,
            )
            assert done.status_code == 200, done.text
            recovered_at = time.monotonic()

            pending = probes()
            took: dict[str, float] = {}
            while pending:
                for service, url in list(pending.items()):
                    r = await http.get(url, headers=auth)
                    if r.status_code == 401:
                        assert r.json()["type"].endswith("/token-revoked"), r.text
                        took[service] = time.monotonic() - recovered_at
                        del pending[service]
                elapsed = time.monotonic() - recovered_at
                assert elapsed < 1.0, f"still accepted after {elapsed:.2f} s by {sorted(pending)}"
                await asyncio.sleep(0.02)
            print(f"impostor's token refused after (s): {took}")

            # The impostor's phone is told; the holder signs in with theirs.
            deadline = time.monotonic() + 60
            while not [
                m
                for m in await dev.sms_to(http, impostor_phone)
                if m["id"] not in told_before and "petugas kesehatan" in m["text"]
            ]:
                assert time.monotonic() < deadline, "the old number was not told"
                await asyncio.sleep(0.2)
            fresh = await sign_in(http, dev, nik, holder_phone)
            mine = await http.get(
                f"{suite.health}/v1/people/me/status",
                headers={"Authorization": f"Bearer {fresh}"},
            )
            assert mine.status_code == 200, mine.text
            assert (
                await http.post(
                    f"{suite.health}/v1/auth/otp", json={"phone": impostor_phone, "nik": nik}
                )
            ).status_code == 202  # the same answer as for any phone; no code is sent

    asyncio.run(run())


def test_an_officer_of_one_regency_cannot_touch_another(
    told: tuple[Story, dict[str, Any]], suite: Urls
) -> None:
    """Through the public APIs of the running services: the story's mall and people are in
    Jakarta Selatan (3171). An officer of Kota Bandung (3273) reads neither the mall, its
    figures nor the regency's summary, cannot set its level, and cannot look up its people's
    NIKs; an officer of DKI Jakarta (province 31) can. Screening rules need an admin."""
    import asyncio

    story, _ = told
    issuer = TokenIssuer.development(ServiceSettings())

    def officer(jurisdiction: str) -> dict[str, str]:
        token = issuer.issue(
            subject=f"officer-{jurisdiction}",
            roles=["health_officer"],
            jurisdiction=Jurisdiction.parse(jurisdiction),
        )
        return {"Authorization": f"Bearer {token}"}

    bandung, jakarta = officer("regencies:3273"), officer("provinces:31")
    mall = story.mall["id"]

    async def probe(headers: dict[str, str]) -> dict[str, int]:
        async with httpx.AsyncClient(timeout=30) as http:
            answers = {
                "venue": await http.get(f"{suite.registry}/v1/venues/{mall}", headers=headers),
                "stats": await http.get(f"{suite.checkin}/v1/venues/{mall}/stats", headers=headers),
                "summary": await http.get(
                    f"{suite.checkin}/v1/regencies/3171/summary", headers=headers
                ),
                "lookup": await http.post(
                    f"{suite.health}/v1/people/lookup",
                    headers=headers,
                    json={"nik": story.ayu.nik, "purpose": "jurisdiction test"},
                ),
                "rules": await http.post(
                    f"{suite.health}/v1/rules",
                    headers=headers,
                    json={
                        "id": "2099-12-v999",
                        "valid_from": "2099-12-01T00:00:00+07:00",
                        "reason": "officers may not publish",
                    },
                ),
            }
            listed = await http.get(
                f"{suite.registry}/v1/venues", params={"regency_code": "3171"}, headers=headers
            )
            answers["listed"] = 200 if listed.json()["total"] else 404
            return {
                k: v.status_code if hasattr(v, "status_code") else v for k, v in answers.items()
            }

    outside = asyncio.run(probe(bandung))
    assert outside == {
        "venue": 403,
        "stats": 403,
        "summary": 403,
        "lookup": 403,
        "rules": 403,
        "listed": 404,
    }
    inside = asyncio.run(probe(jakarta))
    assert inside == {
        "venue": 200,
        "stats": 200,
        "summary": 200,
        "lookup": 200,
        "rules": 403,
        "listed": 200,
    }

    async def set_level(headers: dict[str, str]) -> int:
        async with httpx.AsyncClient(timeout=30) as http:
            answer = await http.put(
                f"{suite.registry}/v1/zones/3171",
                headers=headers,
                json={"level": 1, "reason": "jurisdiction test"},
            )
            return answer.status_code

    assert asyncio.run(set_level(bandung)) == 403
