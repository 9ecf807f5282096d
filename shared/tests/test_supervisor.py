"""The supervisor behind `make run`: a process that dies is restarted with backoff, the others
keep running (same pid), and SIGTERM stops every process group."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from lindung_shared.supervisor import parse_procfile

pytestmark = pytest.mark.timeout(90)


def test_the_procfile_is_honchos_format():
    assert parse_procfile("# comment\n\nweb: exec python -m x\nworker-2:  env A=1 sh -c 'y'\n") == [
        ("web", "exec python -m x"),
        ("worker-2", "env A=1 sh -c 'y'"),
    ]
    with pytest.raises(ValueError, match="twice"):
        parse_procfile("a: x\na: y\n")
    with pytest.raises(ValueError, match="not 'name: command'"):
        parse_procfile("just words\n")


def _pid(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _wait(what: str, check, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_a_dead_process_is_restarted_with_backoff_and_the_others_keep_running(tmp_path):
    steady_pid, victim_pid = tmp_path / "steady.pid", tmp_path / "victim.pid"
    procfile = tmp_path / "Procfile"
    procfile.write_text(
        f"steady: echo $$ > {steady_pid}; exec sleep 300\n"
        f"victim: echo $$ > {victim_pid}; exec sleep 300\n"
        "crasher: echo boom; exit 3\n"
    )
    out = (tmp_path / "out.log").open("wb")
    supervisor = subprocess.Popen(
        [
            *(sys.executable, "-m", "lindung_shared.supervisor", "-f", str(procfile)),
            *("--backoff", "0.2", "--max-backoff", "1.6", "--stable", "5", "--grace", "3"),
        ],
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        _wait("both long-running processes", lambda: _pid(steady_pid) and _pid(victim_pid))
        steady, victim = _pid(steady_pid), _pid(victim_pid)
        assert steady and victim
        os.kill(victim, signal.SIGKILL)
        _wait("the killed process to come back", lambda: _pid(victim_pid) not in (None, victim))
        assert _alive(steady) and _pid(steady_pid) == steady, "the others keep running"

        # The crasher keeps exiting: restarted each time, waiting longer and longer (capped).
        log = tmp_path / "out.log"
        _wait("five restarts of the crasher", lambda: "restart #5 " in log.read_text(), 30)
        delays = [
            float(d)
            for d in re.findall(
                r"crasher\s+\| exited \(exit code 3\); restart #\d+ in ([\d.]+)s", log.read_text()
            )
        ]
        assert delays[:5] == [0.2, 0.4, 0.8, 1.6, 1.6]
        assert "victim" in log.read_text() and "signal SIGKILL" in log.read_text()
    finally:
        supervisor.send_signal(signal.SIGTERM)
        supervisor.wait(15)
    assert supervisor.returncode == 0
    current = _pid(victim_pid)
    _wait(
        "every process to stop",
        lambda: not _alive(steady) and not (current and _alive(current)),
        10,
    )
