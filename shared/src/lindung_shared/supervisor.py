"""``python -m lindung_shared.supervisor -f Procfile``: runs the processes of ``make run``
and keeps them running.

Procfile format (as honcho and foreman read it): one ``name: command`` per line, ``#``
comments. Each command runs under ``/bin/sh -c`` in its own process group, with its output
prefixed by ``HH:MM:SS name |``. A process that exits (crash, kill -9, exit 0 alike) is started
again after a backoff that doubles from ``--backoff`` up to ``--max-backoff`` seconds and
resets once it has stayed up ``--stable`` seconds; the others keep serving meanwhile (honcho
stopped everything when one process ended). SIGINT/SIGTERM stop every process group (SIGTERM,
then SIGKILL after ``--grace`` seconds) and end the supervisor.

Hand-written rather than supervisord: supervisord gives up on a process after
``startretries`` quick failures (FATAL) and needs its own config and control socket; here the
Procfile stays the one-line-per-process list that deploy/local/run-suite.sh writes.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import signal
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

_LINE = re.compile(r"^([A-Za-z0-9_.-]+):\s*(.+)$")


def parse_procfile(text: str) -> list[tuple[str, str]]:
    entries: list[tuple[str, str]] = []
    seen: set[str] = set()
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = _LINE.match(line)
        if match is None:
            raise ValueError(f"Procfile line {number} is not 'name: command': {raw!r}")
        name, command = match.groups()
        if name in seen:
            raise ValueError(f"Procfile line {number}: {name!r} appears twice")
        seen.add(name)
        entries.append((name, command))
    return entries


@dataclass
class Supervised:
    name: str
    command: str
    backoff: float
    max_backoff: float
    stable: float
    width: int
    restarts: int = 0
    process: asyncio.subprocess.Process | None = field(default=None, repr=False)

    def say(self, text: str) -> None:
        stamp = time.strftime("%H:%M:%S")
        sys.stdout.write(f"{stamp} {self.name:<{self.width}} | {text}\n")
        sys.stdout.flush()

    async def run(self, stopping: asyncio.Event) -> None:
        delay = self.backoff
        while not stopping.is_set():
            started = time.monotonic()
            try:
                self.process = await asyncio.create_subprocess_exec(
                    "/bin/sh",
                    "-c",
                    self.command,
                    stdin=asyncio.subprocess.DEVNULL,
                    stdout=asyncio.subprocess.PIPE,
                    stderr=asyncio.subprocess.STDOUT,
                    start_new_session=True,  # its own group: signals reach its children too
                    limit=1 << 20,
                )
            except OSError as exc:
                self.say(f"could not start: {exc}")
                code: int | None = None
            else:
                self.say(f"started (pid {self.process.pid})")
                await self._pump()
                code = await self.process.wait()
            if stopping.is_set():
                self.say(f"stopped ({_describe(code)})")
                return
            if time.monotonic() - started >= self.stable:
                delay = self.backoff
            self.restarts += 1
            self.say(
                f"exited ({_describe(code)}); restart #{self.restarts} in {delay:.1f}s, "
                "the other processes keep running"
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), timeout=delay)
            delay = min(self.max_backoff, delay * 2)

    async def _pump(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        stdout = self.process.stdout
        while True:
            try:
                line = await stdout.readline()
            except ValueError:  # a line longer than the limit: pass on what is buffered
                line = await stdout.read(1 << 20)
            if not line:
                return
            self.say(line.decode(errors="replace").rstrip("\n"))

    def signal(self, sig: int) -> None:
        if self.process is not None and self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.process.pid, sig)


def _describe(code: int | None) -> str:
    if code is None:
        return "did not start"
    if code < 0:
        return f"signal {signal.Signals(-code).name}"
    return f"exit code {code}"


async def supervise(
    entries: Sequence[tuple[str, str]],
    *,
    backoff: float = 1.0,
    max_backoff: float = 30.0,
    stable: float = 30.0,
    grace: float = 10.0,
) -> int:
    width = max((len(name) for name, _ in entries), default=0)
    width = max(width, len("supervisor"))
    children = [
        Supervised(name, command, backoff, max_backoff, stable, width) for name, command in entries
    ]
    me = Supervised("supervisor", "", backoff, max_backoff, stable, width)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        loop.add_signal_handler(sig, stopping.set)
    tasks = [asyncio.create_task(child.run(stopping)) for child in children]
    me.say(f"supervising {len(children)} processes (pid {os.getpid()})")
    await stopping.wait()
    me.say("stopping every process (SIGTERM)")
    for child in children:
        child.signal(signal.SIGTERM)
    _, pending = await asyncio.wait(tasks, timeout=grace)
    if pending:
        me.say(f"SIGKILL to what is still running after {grace:.0f}s")
        for child in children:
            child.signal(signal.SIGKILL)
        await asyncio.wait(pending, timeout=5)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lindung_shared.supervisor")
    parser.add_argument("-f", "--procfile", type=Path, required=True)
    parser.add_argument("--backoff", type=float, default=1.0, help="first restart delay (s)")
    parser.add_argument("--max-backoff", type=float, default=30.0, help="longest delay (s)")
    parser.add_argument(
        "--stable", type=float, default=30.0, help="up this long resets the backoff (s)"
    )
    parser.add_argument("--grace", type=float, default=10.0, help="SIGTERM to SIGKILL (s)")
    args = parser.parse_args(argv)
    entries = parse_procfile(args.procfile.read_text())
    if not entries:
        print(f"{args.procfile}: no processes", file=sys.stderr)
        return 2
    return asyncio.run(
        supervise(
            entries,
            backoff=args.backoff,
            max_backoff=args.max_backoff,
            stable=args.stable,
            grace=args.grace,
        )
    )


if __name__ == "__main__":
    sys.exit(main())
