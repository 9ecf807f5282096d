"""Fixtures of the certificate tests: the vector summary in the terminal report, and (below)
a fresh migrated database with the certificate endpoints mounted on a test app."""

from __future__ import annotations

import pytest

_SUMMARY = pytest.StashKey[list[str]]()


@pytest.fixture(scope="session")
def certificate_summary_lines(request: pytest.FixtureRequest) -> list[str]:
    return request.config.stash.setdefault(_SUMMARY, [])


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    for text in config.stash.get(_SUMMARY, []):
        terminalreporter.section("EU DCC test vectors")
        terminalreporter.write_line(text)
