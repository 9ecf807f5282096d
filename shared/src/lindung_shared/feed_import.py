"""``lindung feeds import FILE...``: a FHIR Bulk Data style backfill through health-records.

Each NDJSON file becomes one import job: opened, sent in parts of whole lines (streamed from
disk, never read whole), started (202 and the status URL), then followed with a progress bar
until it is complete; the rejected lines are written beside the file (``FILE.errors.ndjson``,
one ``OperationOutcome`` per line). A part that fails to send is sent again (parts are
idempotent), and a job can be followed again with ``--follow JOB_ID``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

#: Bytes per part (the server takes at most 16 MiB).
PART_BYTES = 8 * 1024 * 1024


def parts(path: Path, part_bytes: int = PART_BYTES) -> Iterator[bytes]:
    """The file in parts of whole lines of at most ``part_bytes`` (a longer line is a part
    of its own, and the server refuses it)."""
    buffer: list[bytes] = []
    size = 0
    with path.open("rb") as f:
        for line in f:
            if size + len(line) > part_bytes and buffer:
                yield b"".join(buffer)
                buffer, size = [], 0
            buffer.append(line)
            size += len(line)
    if buffer:
        yield b"".join(buffer)


def _default_url() -> str:
    url = os.environ.get("LINDUNG_HEALTH_RECORDS_URL")
    if url:
        return url
    return f"http://127.0.0.1:{os.environ.get('HEALTH_RECORDS_HTTP_PORT', '8003')}"


def _default_token() -> str | None:
    token = os.environ.get("LINDUNG_FEED_TOKEN")
    if token:
        return token
    # In development, a feed token signed by the project's keys.
    from lindung_shared.settings import ServiceSettings
    from lindung_shared.tokens import TokenIssuer

    settings = ServiceSettings()
    if not settings.is_development:
        return None
    return TokenIssuer.development(settings).issue(
        subject="lindung-cli-import", roles=["feed"], venues=(), ttl_seconds=12 * 3600
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="*", type=Path, help="NDJSON files (one resource a line)")
    parser.add_argument("--url", default=None, help="health-records base URL")
    parser.add_argument("--source", default=None, help="the feed's name (default: file name)")
    parser.add_argument("--part-bytes", type=int, default=PART_BYTES)
    parser.add_argument("--follow", default=None, help="follow an import already started")
    parser.add_argument("--no-wait", action="store_true", help="start and do not follow")


def run(args: argparse.Namespace) -> int:
    import click
    import httpx

    token = _default_token()
    if token is None:
        print(
            "lindung feeds import: set LINDUNG_FEED_TOKEN (a token with role feed)", file=sys.stderr
        )
        return 2
    headers = {"authorization": f"Bearer {token}"}
    with httpx.Client(base_url=args.url or _default_url(), headers=headers, timeout=120) as http:
        if args.follow:
            return _follow(http, click, f"/v1/feeds/imports/{args.follow}", None)
        if not args.files:
            print("lindung feeds import: name at least one NDJSON file", file=sys.stderr)
            return 2
        worst = 0
        for path in args.files:
            worst = max(worst, _one(http, click, path, args))
        return worst


def _send(http: Any, method: str, url: str, **kwargs: Any) -> Any:
    """One request, retried on 503 / connection errors (everything sent is idempotent)."""
    import httpx

    for attempt in range(8):
        try:
            response = http.request(method, url, **kwargs)
        except httpx.TransportError:
            if attempt == 7:
                raise
            time.sleep(min(2**attempt, 30))
            continue
        if response.status_code == 503 and attempt < 7:
            time.sleep(float(response.headers.get("retry-after", 2)))
            continue
        response.raise_for_status()
        return response
    raise RuntimeError("unreachable")


def _one(http: Any, click: Any, path: Path, args: argparse.Namespace) -> int:
    size = path.stat().st_size
    job = _send(
        http, "POST", "/v1/feeds/imports", json={"source": args.source or f"import:{path.name}"}
    ).json()
    click.echo(f"{path}: import {job['id']}")
    with click.progressbar(length=size, label="upload ", show_pos=False, show_percent=True) as bar:
        for n, body in enumerate(parts(path, args.part_bytes)):
            _send(
                http,
                "POST",
                "/v1/feeds/import-parts",
                params={"job": job["id"], "part": n},
                content=body,
                headers={"content-type": "application/fhir+ndjson"},
            )
            bar.update(len(body))
    started = _send(http, "POST", f"/v1/feeds/imports/{job['id']}/start")
    status_url = started.headers.get("content-location", job["status_url"])
    if args.no_wait:
        click.echo(f"started: {status_url}")
        return 0
    return _follow(http, click, status_url, path)


def _follow(http: Any, click: Any, status_url: str, path: Path | None) -> int:
    status = _send(http, "GET", status_url).json()
    with click.progressbar(
        length=max(status["lines_total"], 1), label="apply  ", show_pos=True
    ) as bar:
        done = 0
        while True:
            response = _send(http, "GET", status_url)
            status = response.json()
            bar.update(status["lines_done"] - done)
            done = status["lines_done"]
            if response.status_code == 200:
                break
            time.sleep(1.0)
    took = ""
    if status.get("started_at") and status.get("finished_at"):
        from datetime import datetime

        seconds = (
            datetime.fromisoformat(status["finished_at"])
            - datetime.fromisoformat(status["started_at"])
        ).total_seconds()
        if seconds > 0:
            took = f" in {seconds:.0f} s ({status['lines_done'] / seconds:.0f} lines/s)"
    click.echo(
        f"{status['state']}: {status['lines_done']} lines{took}: {status['accepted']} accepted, "
        f"{status['duplicate']} duplicate, {status['ignored']} ignored, "
        f"{status['rejected']} rejected"
    )
    if status["rejected"] and path is not None:
        target = path.with_name(path.name + ".errors.ndjson")
        with http.stream("GET", status["errors_url"]) as stream, target.open("wb") as out:
            for chunk in stream.iter_bytes():
                out.write(chunk)
        click.echo(f"rejected lines: {target}")
    return 1 if status["rejected"] else 0
