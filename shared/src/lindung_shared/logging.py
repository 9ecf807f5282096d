"""Structured JSON logs with a request id, and a last line of defence against PII.

Code logs ids (person id, venue id, visit id), never names, NIKs or phone numbers. The
redacting filter below masks anything that still looks like a NIK (16 digits) or an E.164
phone number, in case a message or an exception text carries one by accident.

Under an outage the same line repeats thousands of times a second (every request, every
retry, every reconnect of the Kafka client). :class:`RepeatCollapser` lets the first few of a
kind through in each window and counts the rest; the next line of that kind that passes
carries ``repeats_suppressed``, the count of those held back since the previous one.
"""

from __future__ import annotations

import contextvars
import logging
import re
import sys
import threading
import time
from typing import Any

from pythonjsonlogger.json import JsonFormatter

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "request_id", default=None
)

_NIK = re.compile(r"(?<!\d)\d{16}(?!\d)")
_PHONE = re.compile(r"\+\d{8,15}(?!\d)")
# An Indonesian mobile number written without the plus: 62 8xx... or 08xx... (not inside an
# id: a UUID's last group is preceded by a dash).
_LOCAL_PHONE = re.compile(r"(?<![\w.-])(?:62|0)8\d{7,11}(?![\w-])")

#: What every LogRecord has; anything else came in through ``extra=``.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "service",
    "request_id",
    "color_message",
}


def redact(text: str) -> str:
    text = _PHONE.sub("+[redacted-phone]", _NIK.sub("[redacted-nik]", text))
    return _LOCAL_PHONE.sub("[redacted-phone]", text)


def _redact_value(value: Any, depth: int = 0) -> Any:
    if isinstance(value, str):
        return redact(value)
    if depth < 4 and isinstance(value, dict):
        return {k: _redact_value(v, depth + 1) for k, v in value.items()}
    if depth < 4 and isinstance(value, list | tuple):
        return [_redact_value(v, depth + 1) for v in value]
    return value


class _ContextFilter(logging.Filter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def filter(self, record: logging.LogRecord) -> bool:
        record.service = self.service
        request_id = request_id_var.get()
        if request_id is not None:
            record.request_id = request_id
        if isinstance(record.msg, str):
            record.msg = redact(str(record.msg))
        if record.args:
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        for name, value in list(vars(record).items()):
            if name not in _STANDARD and isinstance(value, str | dict | list | tuple):
                setattr(record, name, _redact_value(value))
        return True


class RepeatCollapser(logging.Filter):
    """Rate-limits log lines of one kind (logger, level and message template, before its
    arguments are filled in): at most ``burst`` per ``window`` seconds; the rest are dropped
    and counted, and the count rides on the next line of that kind that passes."""

    def __init__(self, burst: int = 5, window: float = 10.0, max_kinds: int = 2048) -> None:
        super().__init__()
        self.burst = burst
        self.window = window
        self.max_kinds = max_kinds
        # kind -> [window start, passed in this window, suppressed since the last passed one]
        self._kinds: dict[tuple[str, int, str], list[float]] = {}
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        kind = (record.name, record.levelno, str(record.msg))
        now = time.monotonic()
        with self._lock:
            state = self._kinds.get(kind)
            if state is None:
                if len(self._kinds) >= self.max_kinds:
                    self._kinds.clear()
                self._kinds[kind] = [now, 1, 0]
                return True
            if now - state[0] >= self.window:
                state[0], state[1] = now, 0
            if state[1] >= self.burst:
                state[2] += 1
                return False
            state[1] += 1
            if state[2]:
                record.repeats_suppressed = int(state[2])
                state[2] = 0
            return True


class _RedactingJsonFormatter(JsonFormatter):
    def formatException(self, ei: Any) -> str:  # noqa: N802 - logging's name
        return redact(str(super().formatException(ei)))


def configure_logging(service: str, level: str = "INFO") -> None:
    """Send JSON lines to stderr for the whole process (idempotent)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        _RedactingJsonFormatter(
            "{asctime}{levelname}{name}{message}",
            style="{",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        )
    )
    handler.addFilter(RepeatCollapser())
    handler.addFilter(_ContextFilter(service))
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level.upper())
    # uvicorn's access log would repeat every request in its own format; our middleware logs.
    logging.getLogger("uvicorn.access").disabled = True
    for noisy in ("aiokafka", "kafka"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
