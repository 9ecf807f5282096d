"""Errors rendered as ``application/problem+json`` (RFC 9457) from one place.

Domain code raises :class:`Problem` (or a subclass carrying its own status); validation errors
from FastAPI become a 422 problem listing each invalid field; anything unexpected becomes a
500 problem without internals. An outage (the database or Kafka unreachable, a connection
lost, the pool exhausted: :func:`lindung_shared.transient.is_transient`) is a 503 problem
with ``Retry-After`` instead; those handlers sit inside Starlette's exception middleware, so
the answer goes out on a connection that stays open (the catch-all 500 handler's
middleware re-raises, and the server then drops the connection).
"""

from __future__ import annotations

import logging
from typing import Any

import asyncpg
from aiokafka.errors import KafkaError
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException

from lindung_shared.transient import is_transient

PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE = "https://lindung.dev/problems/"

log = logging.getLogger(__name__)


class Problem(Exception):
    """A domain error that the API reports to its caller."""

    status: int = 400
    code: str = "bad-request"
    title: str = "Bad request"

    def __init__(
        self,
        detail: str,
        *,
        status: int | None = None,
        code: str | None = None,
        title: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        if status is not None:
            self.status = status
        if code is not None:
            self.code = code
        if title is not None:
            self.title = title
        self.extra = extra or {}

    def to_dict(self, instance: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": PROBLEM_BASE + self.code,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if instance:
            body["instance"] = instance
        body.update(self.extra)
        return body


class NotFound(Problem):
    status, code, title = 404, "not-found", "Not found"


class Conflict(Problem):
    status, code, title = 409, "conflict", "Conflict"


class Unauthorized(Problem):
    status, code, title = 401, "unauthorized", "Unauthorized"


class Forbidden(Problem):
    status, code, title = 403, "forbidden", "Forbidden"


class Unprocessable(Problem):
    status, code, title = 422, "unprocessable", "Unprocessable content"


class ServiceUnavailable(Problem):
    """A transient condition: the caller should retry after ``retry_after`` seconds."""

    status, code, title = 503, "unavailable", "Service unavailable"

    def __init__(self, detail: str, *, retry_after: int = 1, **kwargs: Any) -> None:
        super().__init__(detail, **kwargs)
        self.retry_after = retry_after


def problem_response(problem: Problem, request: Request | None = None) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if problem.status == 401 else {}
    retry_after = getattr(problem, "retry_after", None)
    if isinstance(retry_after, int):  # 503 and 429
        headers["Retry-After"] = str(retry_after)
    return JSONResponse(
        problem.to_dict(str(request.url.path) if request else None),
        status_code=problem.status,
        media_type=PROBLEM_JSON,
        headers=headers or None,
    )


#: Seconds a client is asked to wait when a dependency is unreachable.
OUTAGE_RETRY_AFTER = 2

#: The exception families an outage shows up as; each is checked with ``is_transient``.
_OUTAGE_TYPES: tuple[type[Exception], ...] = (
    OSError,
    TimeoutError,
    SQLAlchemyError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
    KafkaError,
)


def _location(loc: tuple[Any, ...] | list[Any]) -> str:
    return ".".join(str(part) for part in loc)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return problem_response(exc, request)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"field": _location(e.get("loc", ())), "message": e.get("msg", "invalid")}
            for e in exc.errors()
        ]
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors) or "invalid request"
        return problem_response(
            Problem(
                detail,
                status=422,
                code="validation-error",
                title="The request is not valid",
                extra={"errors": errors},
            ),
            request,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        title = {404: "Not found", 405: "Method not allowed"}.get(exc.status_code, "Error")
        return problem_response(
            Problem(
                str(exc.detail), status=exc.status_code, code=f"http-{exc.status_code}", title=title
            ),
            request,
        )

    async def _outage(request: Request, exc: Exception) -> JSONResponse:
        if is_transient(exc):
            # One line per failure type, rate-limited by the logging filter: an outage must
            # not flood the logs (see lindung_shared.logging).
            route = getattr(request.scope.get("route"), "path", "?")
            log.warning(
                "dependency unavailable on %s %s: %s", request.method, route, type(exc).__name__
            )
            return problem_response(
                ServiceUnavailable(
                    "A service this request needs is unavailable for a moment; retry shortly.",
                    retry_after=OUTAGE_RETRY_AFTER,
                    code="dependency-unavailable",
                ),
                request,
            )
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem_response(_internal_error(), request)

    for exc_type in _OUTAGE_TYPES:
        app.add_exception_handler(exc_type, _outage)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem_response(_internal_error(), request)


def _internal_error() -> Problem:
    return Problem(
        "An unexpected error occurred; it has been logged.",
        status=500,
        code="internal-error",
        title="Internal server error",
    )
