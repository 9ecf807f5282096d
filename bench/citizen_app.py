"""``make lighthouse``: screenshots of every screen of the citizen app and a Lighthouse run
(PWA, performance, accessibility, best practices), against the running suite (`make run`).

It tells the e2e story first (tests/e2e/story.py: venues, people, vaccinations, visits, a
positive result, notifications), then opens the app as its people in Debian's chromium
(Playwright) and saves a phone-sized screenshot of each screen in docs/citizen-app/, then
runs npm's ``lighthouse@11`` (the last major version with the PWA category) with the same
chromium on the signed-in home screen and writes the scores to docs/citizen-app/lighthouse.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from lindung_shared.auth import TokenIssuer
from lindung_shared.settings import ServiceSettings

from tests.e2e.story import Person, Story, Urls

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs" / "citizen-app"
CHROMIUM = os.environ.get("LINDUNG_CHROMIUM", "/usr/bin/chromium")
LIGHTHOUSE_DIR = ROOT / ".stack" / "lighthouse"
LIGHTHOUSE_VERSION = "11"
BROWSER_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE = {"width": 412, "height": 860}


def port(variable: str, default: int) -> int:
    return int(os.environ.get(variable, default))


def session_cookie(person: Person) -> dict[str, Any]:
    return {
        "name": "lindung_session",
        "value": person.token,
        "domain": "127.0.0.1",
        "path": "/api",
        "httpOnly": True,
        "sameSite": "Strict",
    }


def screenshots(app: str, story: Story, poster: bytes) -> list[str]:
    from playwright.sync_api import Page, expect, sync_playwright

    expect.set_options(timeout=30_000)  # decoding a photo takes seconds on a loaded machine
    DOCS.mkdir(parents=True, exist_ok=True)
    taken: list[str] = []
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        poster_file = Path(tmp) / "poster.png"
        poster_file.write_bytes(poster)
        browser = p.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)

        def page_for(person: Person | None, language: str = "id") -> Page:
            context = browser.new_context(
                base_url=app, viewport=PHONE, device_scale_factor=1, locale="id-ID"
            )
            if person is not None:
                context.add_cookies([session_cookie(person)])  # type: ignore[list-item]
            context.add_init_script(f"localStorage.setItem('lindung.lang', '{language}')")
            context.set_default_timeout(30_000)
            return context.new_page()

        def shot(page: Page, name: str) -> None:
            page.wait_for_timeout(400)
            page.screenshot(path=str(DOCS / f"{name}.png"))
            taken.append(name)

        def open_at(page: Page, route: str) -> None:
            page.goto(f"/#{route}")
            expect(page.locator("body[data-ready=true]")).to_be_attached()

        page = page_for(None)
        open_at(page, "/signin")
        shot(page, "signin")
        open_at(page, "/register")
        shot(page, "register")
        page.context.close()

        # Dewi: green; scans the mall's poster (a photo of it) and is admitted.
        page = page_for(story.dewi)
        open_at(page, "/home")
        expect(page.locator(".status")).to_be_visible()
        shot(page, "home-green")
        open_at(page, "/scan")
        page.locator("#photo").set_input_files(str(poster_file))
        expect(page.locator("#overlay")).to_have_attribute("data-outcome", "admitted")
        shot(page, "scan-admitted")
        page.locator("#overlay").get_by_role("button", name="Tutup").click()
        open_at(page, "/certificates")
        expect(page.locator("li.cert").first).to_be_visible()
        shot(page, "certificates")
        page.locator("li.cert").first.get_by_role("button").click()
        qr = page.locator("#overlay img.dcc")
        expect(qr).to_have_js_property("complete", True)
        expect(qr).not_to_have_js_property("naturalWidth", 0)
        shot(page, "certificate-qr")
        page.context.close()

        # Citra: red (not vaccinated); refused at the mall, the reason on the screen.
        page = page_for(story.citra, "en")
        open_at(page, "/scan")
        page.locator("#photo").set_input_files(str(poster_file))
        expect(page.locator("#overlay")).to_have_attribute("data-outcome", "refused")
        shot(page, "scan-refused-en")
        page.context.close()

        # Budi: a close contact of Ayu, black (quarantine), told in his inbox.
        page = page_for(story.budi)
        open_at(page, "/home")
        expect(page.locator(".status")).to_have_attribute("data-colour", "black")
        shot(page, "home-black")
        open_at(page, "/inbox")
        expect(page.locator("#inbox li").first).to_be_visible()
        shot(page, "inbox")
        open_at(page, "/visits")
        expect(page.locator("li.visit").first).to_be_visible()
        shot(page, "visits")
        open_at(page, "/health")
        shot(page, "health")
        open_at(page, "/more")
        shot(page, "more")
        page.context.set_offline(True)
        open_at(page, "/scan")
        page.locator("#photo").set_input_files(str(poster_file))
        expect(page.locator("#overlay")).to_have_class("overlay colour-offline")
        shot(page, "scan-offline")
        page.locator("#overlay").get_by_role("button", name="Tutup").click()
        shot(page, "visits-offline-pending")
        page.context.set_offline(False)
        expect(page.locator("#uploaded li").first).to_be_visible()
        shot(page, "visits-offline-uploaded")
        page.context.close()
        browser.close()
    return taken


def lighthouse(app: str, person: Person) -> dict[str, Any]:
    cli = LIGHTHOUSE_DIR / "node_modules" / "lighthouse" / "cli" / "index.js"
    if not cli.exists():
        LIGHTHOUSE_DIR.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", f"lighthouse@{LIGHTHOUSE_VERSION}"],
            cwd=LIGHTHOUSE_DIR,
            check=True,
            stdout=subprocess.DEVNULL,
        )
    node = shutil.which("node") or "node"
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        subprocess.run(
            [
                node,
                str(cli),
                f"{app}/#/home",
                "--quiet",
                "--output=json",
                f"--output-path={report}",
                "--only-categories=pwa,performance,accessibility,best-practices",
                "--form-factor=mobile",
                "--chrome-flags=--headless=new " + " ".join(BROWSER_ARGS),
                "--extra-headers="
                + json.dumps({"Cookie": f"lindung_session={person.token}; lindung_csrf=x"}),
            ],
            env={**os.environ, "CHROME_PATH": CHROMIUM},
            check=True,
        )
        data: dict[str, Any] = json.loads(report.read_text())
    return data


def write_summary(data: dict[str, Any], taken: list[str]) -> Path:
    categories = data["categories"]
    lines = [
        "# Citizen app: Lighthouse",
        "",
        f"`make lighthouse` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC: Lighthouse "
        f"{data['lighthouseVersion']}, {data['environment']['hostUserAgent'].split(') ')[-1]}, "
        f"headless, mobile form factor with Lighthouse's simulated throttling, against "
        f"{data['requestedUrl']} (the signed-in home screen) served by `make run` on a shared "
        f"2-core machine (load: {os.getloadavg()[0]:.1f}).",
        "",
        "| category | score |",
        "|---|---|",
    ]
    for key in ("pwa", "performance", "accessibility", "best-practices"):
        if key in categories and categories[key]["score"] is not None:
            lines.append(
                f"| {categories[key]['title']} | {round(categories[key]['score'] * 100)} |"
            )
    lines += ["", "Audits that did not pass (score < 1):", ""]
    for key in ("pwa", "performance", "accessibility", "best-practices"):
        for ref in categories.get(key, {}).get("auditRefs", []):
            audit = data["audits"][ref["id"]]
            if audit.get("score") is not None and audit["score"] < 1 and ref.get("weight", 0) > 0:
                value = f" ({audit['displayValue']})" if audit.get("displayValue") else ""
                lines.append(f"- {key}: {audit['title']}{value}")
                if ref["id"] == "errors-in-console":
                    for item in audit.get("details", {}).get("items", [])[:5]:
                        lines.append(f"  - {item.get('source', '')}: {item.get('description', '')}")
    metrics = data["audits"]
    lines += ["", "Performance metrics:", ""]
    for metric in (
        "first-contentful-paint",
        "largest-contentful-paint",
        "total-blocking-time",
        "cumulative-layout-shift",
        "speed-index",
    ):
        if metric in metrics:
            lines.append(f"- {metrics[metric]['title']}: {metrics[metric].get('displayValue', '')}")
    lines += ["", "Screenshots (412 x 860, taken by the same run):", ""]
    lines += [f"- [{name}]({name}.png)" for name in taken]
    # Every run's scores, newest first: the performance score depends on the machine's load.
    out = DOCS / "lighthouse.md"
    history = []
    if out.exists():
        old = out.read_text().split("## Runs\n\n", 1)
        if len(old) == 2:
            history = [line for line in old[1].splitlines()[2:] if line.startswith("| 20")]
    scores = " | ".join(
        str(round(categories[k]["score"] * 100)) if k in categories else "-"
        for k in ("pwa", "performance", "accessibility", "best-practices")
    )
    run = f"| {datetime.now(UTC):%Y-%m-%d %H:%M} | {os.getloadavg()[0]:.1f} | {scores} |"
    lines += [
        "",
        "## Runs",
        "",
        "| UTC | load | PWA | performance | accessibility | best practices |",
        "|---|---|---|---|---|---|",
        run,
        *history[:19],
    ]
    out.write_text("\n".join(lines) + "\n")
    return out


def main() -> int:
    parser = argparse.ArgumentParser(prog="lighthouse")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--no-lighthouse", action="store_true", help="screenshots only")
    args = parser.parse_args()
    urls = Urls(
        *(
            f"http://{args.host}:{port(v, d)}"
            for v, d in (
                ("VENUE_REGISTRY_HTTP_PORT", 8001),
                ("CHECKIN_HTTP_PORT", 8002),
                ("HEALTH_RECORDS_HTTP_PORT", 8003),
                ("NOTIFIER_HTTP_PORT", 8004),
            )
        )
    )
    app = f"http://{args.host}:{port('CITIZEN_APP_HTTP_PORT', 8006)}"
    for url in (urls.registry, urls.checkin, urls.health, urls.notifier, app):
        try:
            httpx.get(f"{url}/readyz", timeout=3).raise_for_status()
        except httpx.HTTPError:
            print(f"{url} is not ready: start the suite first with `make run`", file=sys.stderr)
            return 2
    print("telling the e2e story (venues, people, visits, a positive result)...", flush=True)
    story = Story(TokenIssuer.development(ServiceSettings()), urls=urls, narrate=lambda _: None)
    asyncio.run(story.run())
    poster = httpx.get(
        f"{urls.registry}/v1/venues/{story.mall['id']}/qr-codes/{story.mall_qr['id']}/poster.png",
        headers=story.manager,
        timeout=30,
    )
    poster.raise_for_status()
    taken = screenshots(app, story, poster.content)
    print(f"screenshots: {', '.join(taken)} in {DOCS.relative_to(ROOT)}/", flush=True)
    if args.no_lighthouse:
        return 0
    summary = write_summary(lighthouse(app, story.dewi), taken)
    print(summary.read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
