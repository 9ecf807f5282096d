"""Hostile input stopped at the door, before any route reads it.

:class:`RequestGuard` is a pure ASGI middleware every API runs (``create_app`` installs it):

- **Every body is bounded before it is read.** A declared ``Content-Length`` above the
  route's limit is refused with 413 without reading a byte; a body sent without one (chunked)
  is refused with 413 as soon as it passes the limit while it streams. The limit is small by
  default (``ServiceSettings.max_body_bytes``) and larger only for the routes a service names
  (``create_app(body_limits={path: bytes})``, exact paths, documented in each README).
- **JSON that would break the stack or the database is refused with 422**: nesting deeper
  than :data:`MAX_JSON_DEPTH` (Python's parser recurses, and a depth of a few thousand
  raised ``RecursionError``), the escaped NUL character ``\\u0000`` (PostgreSQL text cannot
  hold it) and lone UTF-16 surrogates (not encodable as UTF-8).
- **A NUL in the path or the query string** is refused with 422 too.

The body, once read, is handed to the application unchanged, so routes parse it as before.

:class:`ContainErrors` wraps the whole application: after an unexpected error has been
answered with a 500 problem (Starlette's ``ServerErrorMiddleware`` answers, then re-raises),
it keeps the exception from reaching the server, which would otherwise close the keep-alive
connection and fail the client's next request.
"""

from __future__ import annotations

import itertools
import json
import logging
import re
from collections.abc import Mapping

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lindung_shared.errors import PROBLEM_BASE, PROBLEM_JSON

log = logging.getLogger(__name__)

#: Deepest JSON nesting accepted (a FHIR Bundle needs about ten levels).
MAX_JSON_DEPTH = 64

_FORMS = (b"multipart/form-data", b"application/x-www-form-urlencoded")
# A JSON string literal (unrolled-loop form: linear, no backtracking).
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}
# \u0000 preceded by an even number of backslashes (an odd number escapes the backslash).
_NUL_ESCAPE = re.compile(rb"(?:^|[^\\])(?:\\\\)*\\u0000")
_LONE_SURROGATE = re.compile(
    rb"\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F][0-9a-fA-F]{2})"
    rb"|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}"
)
_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")


def too_deep(body: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether arrays and objects in ``body`` nest deeper than ``limit`` (brackets inside
    strings do not count). Free when the body holds few brackets, the usual case."""
    if body.count(b"[") + body.count(b"{") <= limit:
        return False
    brackets = _STRING.sub(b"", body).translate(None, _NOT_BRACKETS)
    return max(itertools.accumulate(_STEP[b] for b in brackets), default=0) > limit


def hostile_json(body: bytes) -> str | None:
    """Why ``body`` (meant as JSON) is refused, or None. It is not parsed here."""
    if b"\x00" in body[:4] or body.startswith(_BOMS):
        # UTF-16/32 (or a raw NUL): look at it as the parser will, re-encoded as UTF-8.
        try:
            body = body.decode(json.detect_encoding(body)).encode("utf-8", "surrogatepass")
        except (UnicodeDecodeError, LookupError):
            return None  # the parser refuses it (400)
        if b"\x00" in body:
            return "the body holds a NUL character"
    if too_deep(body):
        return f"the JSON is nested deeper than {MAX_JSON_DEPTH} levels"
    if b"\\u" in body:
        if b"\\u0000" in body and _NUL_ESCAPE.search(body):
            return "a string holds a NUL character (\\u0000)"
        if _LONE_SURROGATE.search(body):
            return "a string holds a lone UTF-16 surrogate"
    return None


class _TooLarge(Exception):
    pass


class RequestGuard:
    """See the module's documentation."""

    def __init__(
        self, app: ASGIApp, *, default_limit: int, limits: Mapping[str, int] | None = None
    ) -> None:
        self.app = app
        self.default_limit = default_limit
        self.limits = dict(limits or {})

    def limit_for(self, path: str) -> int:
        return self.limits.get(path, self.default_limit)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        query: bytes = scope.get("query_string", b"")
        if "\x00" in scope["path"] or b"%00" in query or b"\x00" in query:
            await _refuse(
                send,
                422,
                "nul-character",
                "The request holds a NUL character",
                "the path or the query string holds a NUL character (%00)",
            )
            return
        limit = self.limit_for(scope["path"])
        content_type = b""
        declared: int | None = None
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    await _refuse(
                        send,
                        400,
                        "bad-content-length",
                        "Bad request",
                        "the Content-Length header is not a number",
                    )
                    return
            elif name == b"content-type":
                content_type = value.partition(b";")[0].strip().lower()
        if declared is not None and declared > limit:
            await _too_large(send, limit)
            return
        try:
            body, message = await _read_body(receive, limit)
        except _TooLarge:
            await _too_large(send, limit)
            return
        if body and content_type not in _FORMS:
            reason = hostile_json(body)
            if reason is not None:
                await _refuse(send, 422, "hostile-json", "The request is not valid", reason)
                return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return message
            return await receive()

        await self.app(scope, replay, send)


async def _read_body(receive: Receive, limit: int) -> tuple[bytes, Message]:
    """The whole body, refused (``_TooLarge``) as soon as it passes ``limit``; and the one
    ``http.request`` message that hands it on (or a disconnect, passed on as it came)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"", message
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _TooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
            return body, {"type": "http.request", "body": body, "more_body": False}


async def _too_large(send: Send, limit: int) -> None:
    await _refuse(
        send,
        413,
        "body-too-large",
        "Request body too large",
        f"this endpoint accepts bodies of at most {limit} bytes",
        close=True,
    )


async def _refuse(
    send: Send, status: int, code: str, title: str, detail: str, *, close: bool = False
) -> None:
    body = json.dumps(
        {"type": PROBLEM_BASE + code, "title": title, "status": status, "detail": detail}
    ).encode()
    headers = [(b"content-type", PROBLEM_JSON.encode()), (b"content-length", b"%d" % len(body))]
    if close:  # the rest of the body is not read: the connection cannot carry another request
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class ContainErrors:
    """The outermost layer: an exception that escapes after its 500 has been sent completely
    is kept from the server (it was logged by the error handler), so the connection stays
    open for the client's next request. Before any answer, it answers 500 itself."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = finished = False

        async def tracking_send(message: Message) -> None:
            nonlocal started, finished
            if message["type"] == "http.response.start":
                started = True
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                finished = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            if finished:
                return
            if started:
                raise  # half an answer: only closing the connection can end it
            log.exception("unhandled error on %s %s", scope.get("method"), scope.get("path"))
            await _refuse(
                send,
                500,
                "internal-error",
                "Internal server error",
                "An unexpected error occurred; it has been logged.",
            )
