"""The citizen app in a real browser (Debian's chromium, headless, driven by Playwright)
against the whole suite: the fake camera shows a real poster, the app decodes it and checks
in; offline scans are uploaded when the network returns; a close-contact alert arrives in the
open inbox; the certificate screen's QR verifies."""

from __future__ import annotations

import base64
import os
import re
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import jwt
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from .conftest import (
    Person,
    Suite,
    Venue,
    call,
    enrol,
    new_person,
    new_venue,
    pcr,
    poster_png,
    sms_to,
    until,
    y4m_from_png,
)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

CHROMIUM = os.environ.get("LINDUNG_CHROMIUM", "/usr/bin/chromium")
# The machine running make test is often loaded (decoding a camera frame can take seconds).
expect.set_options(timeout=30_000)


@pytest.fixture(scope="module")
def mall(suite: Suite) -> Venue:
    return new_venue(suite, f"Mal Kamera {uuid.uuid4().hex[:6]}", capacity=300)


@pytest.fixture(scope="module")
def probe(suite: Suite) -> Venue:
    return new_venue(suite, f"Pintu Uji {uuid.uuid4().hex[:6]}")


@pytest.fixture(scope="module")
def poster_video(suite: Suite, mall: Venue, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("camera") / "poster.y4m"
    path.write_bytes(y4m_from_png(poster_png(suite, mall)))
    return path


@pytest.fixture(scope="module")
def browser(poster_video: Path) -> Iterator[Browser]:
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--use-fake-ui-for-media-stream",
                "--use-fake-device-for-media-stream",
                f"--use-file-for-fake-video-capture={poster_video}",
            ],
        )
        try:
            yield browser
        finally:
            browser.close()


def citizen(suite: Suite, probe: Venue, name: str, index: int) -> Person:
    """A registered, vaccinated person whose green colour has reached the check-in door (a
    probe check-in and check-out at another venue, so the camera scan is screened green)."""
    person = new_person(suite, name, index)

    def admitted() -> dict[str, str] | None:
        answer = call(
            "POST",
            f"{suite.checkin}/v1/checkins",
            headers=person.headers,
            json={"qr": probe.payload},
        )
        return answer if answer["outcome"] == "admitted" else None

    visit = until(f"{name} to be admitted at the probe door", admitted)
    call(
        "POST", f"{suite.checkin}/v1/checkins/{visit['visit_id']}/checkout", headers=person.headers
    )
    return person


def signed_in(browser: Browser, suite: Suite, person: Person) -> BrowserContext:
    """A browser whose session cookie holds the person's token, as the SMS sign-in sets it."""
    context = browser.new_context(
        base_url=suite.app, permissions=["camera"], viewport={"width": 412, "height": 860}
    )
    context.add_cookies(
        [
            {
                "name": "lindung_session",
                "value": person.token,
                "domain": "127.0.0.1",
                "path": "/api",
                "httpOnly": True,
                "sameSite": "Strict",
            }
        ]
    )
    context.set_default_timeout(30_000)
    return context


def open_app(context: BrowserContext, route: str) -> Page:
    page = context.new_page()
    page.goto(f"/#{route}")
    expect(page.locator("body[data-ready=true]")).to_be_attached()
    return page


def test_the_app_is_an_installable_pwa(browser: Browser, suite: Suite) -> None:
    context = browser.new_context(base_url=suite.app)
    page = context.new_page()
    page.goto("/")
    expect(page.locator("h1")).to_have_text("Masuk")  # signed out, in Bahasa Indonesia
    manifest = page.evaluate("fetch('/manifest.webmanifest').then(r => r.json())")
    assert manifest["display"] == "standalone"
    assert {"192x192", "512x512"} <= {i["sizes"] for i in manifest["icons"]}
    # The service worker installs, controls the page after a reload, and the page then opens
    # with no network at all from its cache.
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    page.reload()
    assert page.evaluate("navigator.serviceWorker.controller !== null")
    context.set_offline(True)
    page.reload()
    expect(page.locator("#net")).to_have_text("Luring")
    context.set_offline(False)
    context.close()


def test_camera_scan_of_a_poster_checks_in(
    browser: Browser, suite: Suite, mall: Venue, probe: Venue
) -> None:
    ayu = citizen(suite, probe, "Ayu", 1)
    context = signed_in(browser, suite, ayu)
    page = open_app(context, "/home")
    expect(page.locator(".status")).to_have_attribute("data-colour", "green")
    page.get_by_role("link", name="Pindai").first.click()
    # The fake camera shows the venue's PNG poster; jsQR finds the code and the door answers.
    overlay = page.locator("#overlay")
    expect(overlay).to_have_attribute("data-outcome", "admitted", timeout=45_000)
    expect(overlay).to_have_class("overlay colour-green outcome-admitted")
    expect(overlay.locator(".venue")).to_have_text(mall.name)
    expect(overlay.locator(".occupancy")).to_contain_text("/ 300")
    visits = call("GET", f"{suite.checkin}/v1/visits", headers=ayu.headers)["items"]
    assert visits[0]["venue_id"] == mall.id and visits[0]["checked_out_at"] is None
    # Check out from the answer screen.
    overlay.get_by_role("button", name="Check-out").click()
    expect(page.locator("li.visit").first).to_contain_text(mall.name)
    visits = call("GET", f"{suite.checkin}/v1/visits", headers=ayu.headers)["items"]
    assert visits[0]["checked_out_at"] is not None
    context.close()


def test_offline_scan_is_uploaded_when_back_online(
    browser: Browser, suite: Suite, mall: Venue, probe: Venue
) -> None:
    budi = citizen(suite, probe, "Budi", 2)
    context = signed_in(browser, suite, budi)
    page = open_app(context, "/visits")
    expect(page.locator("li.visit")).to_have_count(1)  # the probe door's visit
    context.set_offline(True)
    page.get_by_role("link", name="Pindai").first.click()
    overlay = page.locator("#overlay")
    expect(overlay).to_have_class("overlay colour-offline", timeout=45_000)
    overlay.get_by_role("button", name="Tutup").click()
    expect(page.locator("#pending")).to_contain_text("(1)")
    visits = call("GET", f"{suite.checkin}/v1/visits", headers=budi.headers)["items"]
    assert mall.id not in {v["venue_id"] for v in visits}, "nothing reached the server offline"
    context.set_offline(False)
    # Back online: the app uploads its offline batch, shows each item's answer, lists the visit.
    uploaded = page.locator("#uploaded li").first
    expect(uploaded).to_have_attribute("data-status", "admitted")
    expect(page.locator("#pending")).to_have_count(0)
    expect(page.locator("li.visit", has_text=mall.name)).to_have_count(1)
    visits = call("GET", f"{suite.checkin}/v1/visits", headers=budi.headers)["items"]
    assert [v["venue_id"] for v in visits if v["venue_id"] == mall.id] == [mall.id]
    context.close()


def test_close_contact_alert_arrives_in_the_open_inbox(
    browser: Browser, suite: Suite, mall: Venue, probe: Venue
) -> None:
    citra = citizen(suite, probe, "Citra", 3)
    context = signed_in(browser, suite, citra)
    page = open_app(context, "/scan")
    expect(page.locator("#overlay")).to_have_attribute("data-outcome", "admitted", timeout=45_000)
    page.locator("#overlay").get_by_role("button", name="Tutup").click()
    page.get_by_role("link", name="Kotak masuk").click()
    expect(page.locator("h1")).to_have_text("Kotak masuk")
    expect(page.locator("#inbox li[data-kind*=exposure]")).to_have_count(0)
    unread_before = page.locator("#inbox li.unread").count()
    badge = page.locator(".tab .badge")
    if unread_before:
        expect(badge).to_have_text(re.compile(rf"^{unread_before} "))
    else:
        expect(badge).to_have_count(0)
    page.evaluate("window.__sameDocument = true")
    # Another visitor, at the mall since half an hour ago (an offline upload), tests positive.
    dewi = new_person(suite, "Dewi", 4)
    scanned_at = (datetime.now(UTC) - timedelta(minutes=30)).isoformat()
    answer = call(
        "POST",
        f"{suite.checkin}/v1/checkins/batch",
        headers=dewi.headers,
        json={
            "items": [{"client_id": uuid.uuid4().hex, "qr": mall.payload, "scanned_at": scanned_at}]
        },
    )
    assert answer["items"][0]["status"] in ("recorded", "admitted"), answer
    started = time.monotonic()
    pcr(suite, dewi, positive=True, sampled=datetime.now(UTC) - timedelta(hours=1))
    alert = page.locator("#inbox li[data-kind*=exposure]")
    expect(alert).to_have_count(1, timeout=90_000)
    expect(alert).to_contain_text(mall.name)
    expect(alert).not_to_contain_text("Dewi")
    assert page.evaluate("window.__sameDocument === true"), "the inbox was not reloaded"
    # The badge counts what the list shows; more messages may still be arriving (the status
    # change that follows the exposure), so the two are compared until they agree.
    deadline = time.monotonic() + 30
    while True:
        unread = page.locator("#inbox li.unread").count()
        shown = " ".join((badge.text_content() or "").split()) if badge.count() else ""
        if shown.startswith(f"{unread} ") or time.monotonic() > deadline:
            break
        page.wait_for_timeout(200)
    assert unread > unread_before
    assert shown.startswith(f"{unread} "), (shown, unread)
    print(f"alert in the open inbox {time.monotonic() - started:.1f} s after the lab result")
    context.close()


def test_certificate_qr_verifies(browser: Browser, suite: Suite, probe: Venue) -> None:
    eko = citizen(suite, probe, "Eko", 5)
    context = signed_in(browser, suite, eko)
    page = open_app(context, "/certificates")
    page.locator("li.cert").first.get_by_role("button").click()
    qr = page.locator("#overlay img.dcc")
    expect(qr).to_be_visible()
    expect(qr).to_have_js_property("complete", True)
    expect(qr).not_to_have_js_property("naturalWidth", 0)
    picture = qr.screenshot()
    answer = call(
        "POST",
        f"{suite.health}/v1/certificates/verify",
        headers=suite.bearer("venue_manager"),
        json={"image_base64": base64.b64encode(picture).decode()},
    )
    assert answer["valid"] is True, answer
    assert answer["certificate_type"] == "vaccination"
    context.close()


def test_registration_and_sign_in_with_the_sms_code(browser: Browser, suite: Suite) -> None:
    context = browser.new_context(base_url=suite.app)
    page = context.new_page()
    page.goto("/#/register")
    expect(page.locator("h1")).to_have_text("Daftar")
    page.locator("#lang").click()
    expect(page.locator("h1")).to_have_text("Register")
    born = "1991-03-12"
    nik = f"317101120391{uuid.uuid4().int % 9000 + 1:04d}"
    phone = f"+62815{uuid.uuid4().int % 10**8:08d}"
    enrol(nik, "Fajar Nugroho", date(1991, 3, 12))
    page.get_by_label("NIK").fill(nik)
    page.get_by_label("Full name").fill("Fajar Nugroho")
    page.get_by_label("Birth date").fill(born)
    page.get_by_label("Phone number").fill(phone)
    page.get_by_role("button", name="Register").click()
    expect(page.locator("h1")).to_have_text("Sign in")
    expect(page.get_by_label("Phone number")).to_have_value(phone)
    again = httpx.post(
        f"{suite.health}/v1/people",
        json={"nik": nik, "name": "Fajar Nugroho", "birth_date": born, "phone": phone},
        timeout=30,
    )
    # Registering again is harmless and does not disclose the person's id (issue 13).
    assert again.status_code == 200 and again.json() == {"person_id": None, "created": False}
    # The code goes health-records -> Kafka -> notifier -> the development SMS gateway, as in
    # production; the test reads it from the gateway's sink.
    seen = {m["id"] for m in sms_to(phone)}
    page.get_by_role("button", name="Send SMS code").click()
    expect(page.get_by_text("Code sent by SMS.")).to_be_visible()
    expect(page.get_by_label("Code from the SMS")).to_be_visible()
    code = until(
        "the sign-in code to reach the SMS gateway",
        lambda: next(
            (
                found.group(1)
                for m in sms_to(phone)
                if m["id"] not in seen and (found := re.search(r"\b(\d{6})\b", m["text"]))
            ),
            None,
        ),
    )
    # A wrong code is refused with the service's own explanation, and no session is set.
    page.get_by_label("Code from the SMS").fill("000000" if code != "000000" else "111111")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator(".error")).to_be_visible()
    assert not [c for c in context.cookies() if c["name"] == "lindung_session"]
    page.get_by_label("Code from the SMS").fill(code)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("h1")).to_have_text("My status")
    expect(page.locator(".status")).to_have_attribute("data-colour", re.compile("red|green"))
    (session,) = [c for c in context.cookies() if c["name"] == "lindung_session"]
    assert session["httpOnly"] and session["sameSite"] == "Strict" and session["path"] == "/api"
    assert page.evaluate("document.cookie").find("lindung_session") == -1
    status = call(
        "GET",
        f"{suite.health}/v1/people/me/status",
        headers={"Authorization": f"Bearer {session['value']}"},
    )
    # The session is the registered person's: the id is learnt by signing in.
    assert (
        status["person_id"]
        == jwt.decode(session["value"], options={"verify_signature": False})["sub"]
    )
    # Signing out forgets the cookie.
    page.get_by_role("link", name="More").click()
    page.get_by_role("button", name="Sign out").click()
    expect(page.locator("h1")).to_have_text("Sign in")
    assert not [c for c in context.cookies() if c["name"] == "lindung_session"]
    context.close()


def test_gateway_forwards_answers_and_streams(suite: Suite, probe: Venue) -> None:
    """Through the running gateway: the services' problems pass unchanged, a signed-in GET is
    answered with the person's own data, and the inbox stream is relayed as it flows."""
    fajar = new_person(suite, "Fajar", 6, vaccinated=False)
    with httpx.Client(base_url=suite.app, timeout=30) as client:
        csrf = client.get("/api/session").json()["csrf"]
        client.cookies.set("lindung_session", fajar.token, domain="127.0.0.1", path="/api")
        status = client.get("/api/v1/people/me/status")
        assert status.status_code == 200
        assert status.json()["person_id"] == fajar.person_id
        forged = client.post(
            "/api/v1/checkins",
            json={"qr": probe.payload[:-4] + "AAAA"},
            headers={"x-csrf-token": csrf},
        )
        assert forged.status_code == 422
        assert forged.headers["content-type"] == "application/problem+json"
        assert forged.json()["type"].endswith("/qr-bad-signature")
        with client.stream("GET", "/api/v1/notifications/stream") as stream:
            assert stream.status_code == 200
            assert stream.headers["content-type"].startswith("text/event-stream")
            first = next(stream.iter_text())
            assert first.startswith(": connected")
        # A token the services refuse signs the browser out (the cookie is cleared).
        client.cookies.set("lindung_session", "not-a-token", domain="127.0.0.1", path="/api")
        refused = client.get("/api/v1/people/me/status")
        assert refused.status_code == 401
        assert 'lindung_session=""' in refused.headers["set-cookie"]
