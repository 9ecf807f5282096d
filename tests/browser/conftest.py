"""Fixtures of the browser tests: the running suite, Debian's chromium through Playwright,
an asyncio loop in a thread for the API calls made beside the browser, and axe-core."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from .suite import SuiteUrls, running_suite

T = TypeVar("T")
AXE = Path(__file__).parent / "vendor" / "axe.min.js"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


class LoopThread:
    """Runs coroutines on one event loop in a background thread (the browser tests are
    synchronous; the API helpers are async and keep their HTTP client across calls)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float = 180) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


@pytest.fixture(scope="module")
def loop_thread() -> Iterator[LoopThread]:
    runner = LoopThread()
    yield runner
    runner.close()


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SuiteUrls]:
    # Fast polling of the live pages, so the tests see changes within a second or two.
    with running_suite(
        tmp_path_factory.mktemp("portal-logs"), {"PORTAL_LIVE_POLL_SECONDS": "0.5"}
    ) as urls:
        yield urls


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=os.environ.get("LINDUNG_CHROMIUM", "/usr/bin/chromium"),
            args=CHROMIUM_ARGS,
        )
        try:
            yield browser
        finally:
            browser.close()


def assert_accessible(page: Any) -> None:
    """axe-core in the page: no serious or critical violation."""
    # Evaluated through the debugging protocol: the portal's CSP forbids injected <script>s.
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(AXE.read_text() + "\n;undefined")
    result = page.evaluate("async () => await axe.run(document)")
    bad = [v for v in result["violations"] if v["impact"] in ("serious", "critical")]
    assert not bad, [(v["id"], v["help"], [n["html"][:120] for n in v["nodes"][:3]]) for v in bad]


def screenshot(page: Any, name: str) -> None:
    """Full-page screenshots into LINDUNG_SCREENSHOTS (docs/screenshots when refreshing the
    docs); skipped otherwise."""
    target = os.environ.get("LINDUNG_SCREENSHOTS")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(target) / f"portal-{name}.png"), full_page=True)


def arrive(page: Any, pattern: str, timeout: float = 30_000) -> None:
    """Wait for the page to reach a URL matching ``pattern``; on failure say what it shows."""
    import re

    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_url(re.compile(pattern), timeout=timeout)
    except PlaywrightTimeout:
        raise AssertionError(
            f"still at {page.url}, showing: {page.inner_text('main')[:1000]}"
        ) from None
