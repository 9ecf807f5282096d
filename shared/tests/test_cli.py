"""``lindung``: a token minted from any directory is signed with the project's keys, quickly,
and no keys are made silently outside the project."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
from lindung_shared.auth import TokenVerifier
from lindung_shared.cli import keys_dir_problem
from lindung_shared.settings import ServiceSettings


def test_a_token_minted_outside_the_checkout_is_accepted(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "LINDUNG_KEYS_DIR"}
    token = subprocess.run(
        [
            sys.executable,
            "-m",
            "lindung_shared.cli",
            "token",
            "--role",
            "citizen",
            "--subject",
            "someone",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert not (tmp_path / ".keys").exists(), "no keys made where it was run"

    async def verify() -> str:
        verifier = TokenVerifier(ServiceSettings())
        await verifier.load()
        return (await verifier.verify(token)).subject

    assert asyncio.run(verify()) == "someone"


def test_the_token_command_loads_no_web_framework_or_database_client() -> None:
    code = (
        "import sys, lindung_shared.cli as c; "
        "assert not {'fastapi', 'sqlalchemy', 'aiokafka', 'httpx'} & set(sys.modules), "
        "sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'fastapi', 'sqlalchemy', 'aiokafka', 'httpx'})"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_new_keys_only_inside_a_checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LINDUNG_KEYS_DIR", raising=False)
    problem = keys_dir_problem(tmp_path / ".keys")
    assert problem and "LINDUNG_KEYS_DIR" in problem
    (tmp_path / "services").mkdir()
    (tmp_path / "shared").mkdir()
    assert keys_dir_problem(tmp_path / ".keys") is None
    monkeypatch.setenv("LINDUNG_KEYS_DIR", str(tmp_path / "elsewhere"))
    assert keys_dir_problem(tmp_path / "elsewhere") is None


def _mint(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lindung_shared.cli", "token", *args],
        capture_output=True,
        text=True,
    )


def test_an_officer_token_carries_its_jurisdiction() -> None:
    minted = _mint(
        "--role", "health_officer", "--subject", "o-1", "--jurisdiction", "regencies:3273,3204"
    )
    assert minted.returncode == 0, minted.stderr

    async def verify() -> object:
        verifier = TokenVerifier(ServiceSettings())
        await verifier.load()
        return (await verifier.verify(minted.stdout.strip())).jurisdiction

    jurisdiction = asyncio.run(verify())
    assert str(jurisdiction) == "regencies:3204,3273"
    assert jurisdiction.covers("3273") and not jurisdiction.covers("3171")  # type: ignore[attr-defined]
    # an officer without one is refused at the command line; a bad one says what is wrong
    missing = _mint("--role", "health_officer", "--subject", "o-2")
    assert missing.returncode == 2 and "--jurisdiction" in missing.stderr
    bad = _mint("--role", "health_officer", "--subject", "o-3", "--jurisdiction", "provinces:3")
    assert bad.returncode == 2 and "2-digit" in bad.stderr
    admin = _mint("--role", "admin", "--subject", "a-1")
    assert admin.returncode == 0, admin.stderr
