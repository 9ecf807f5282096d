"""Container health check: exit 0 when an HTTP endpoint of this container answers 2xx.

Used by the image's HEALTHCHECK (the slim base image has no curl). The URL is the first
argument, else ``LINDUNG_HEALTHCHECK_URL``; only the standard library is used so that the
check works whatever the process in the container is.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request

DEFAULT_URL = "http://127.0.0.1:8002/healthz"


def check(url: str, timeout: float = 3.0) -> int:
    if not url.startswith(("http://127.0.0.1", "http://localhost", "http://[::1]")):
        print(f"healthcheck: refusing non-local url {url!r}", file=sys.stderr)
        return 2
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (local url)
            status = int(response.status)
    except urllib.error.HTTPError as exc:
        status = exc.code
    except (OSError, ValueError) as exc:
        print(f"healthcheck: {url}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    if 200 <= status < 300:
        return 0
    print(f"healthcheck: {url}: HTTP {status}", file=sys.stderr)
    return 1


def main(argv: list[str]) -> int:
    url = argv[1] if len(argv) > 1 else os.environ.get("LINDUNG_HEALTHCHECK_URL", DEFAULT_URL)
    return check(url)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
