"""The same-origin gateway (backend-for-frontend) between the web app and the services.

The app calls ``/api/v1/...`` with the same paths as the services' citizen APIs; only the
routes in :data:`ROUTES` pass, each to its service. The citizen's token never reaches
JavaScript: it lives in an httpOnly, SameSite=Strict cookie set at sign-in and is sent on as
``Authorization: Bearer``. State-changing calls must carry the CSRF token (double submit: the
``X-CSRF-Token`` header equals the readable ``lindung_csrf`` cookie) and, when the browser sends
one, an ``Origin`` of this site. Bodies are bounded; answers (problem+json included) are passed
back as the service gave them, and the inbox's server-sent events are streamed through.
"""

from __future__ import annotations

import hmac
import re
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Literal

import httpx
from fastapi import Request
from fastapi.responses import Response, StreamingResponse
from lindung_shared.errors import Problem

from lindung_citizen.settings import Settings

Service = Literal["checkin", "health-records", "notifier"]

SESSION_COOKIE = "lindung_session"
CSRF_COOKIE = "lindung_csrf"
CSRF_HEADER = "x-csrf-token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    service: Service
    #: Sent with the citizen's token (401 here without a session) or public.
    signed_in: bool = True
    stream: bool = False


def _route(
    method: str, path: str, service: Service, *, signed_in: bool = True, stream: bool = False
) -> Route:
    return Route(
        method, re.compile("^" + path.replace("{id}", _UUID) + "$"), service, signed_in, stream
    )


#: Every citizen call the app makes, and nothing else (no officer or manager route is reachable
#: through this gateway, whatever the cookie holds).
ROUTES: tuple[Route, ...] = (
    _route("POST", "/v1/auth/otp", "health-records", signed_in=False),
    _route("POST", "/v1/people", "health-records", signed_in=False),
    _route("GET", "/v1/people/me/status", "health-records"),
    _route("GET", "/v1/people/me/records", "health-records"),
    _route("PATCH", "/v1/people/me", "health-records"),
    _route("GET", "/v1/people/me/certificates", "health-records"),
    _route("GET", r"/v1/people/me/certificates/{id}/qr\.(png|svg)", "health-records"),
    _route("POST", "/v1/checkins", "checkin"),
    _route("POST", "/v1/checkins/batch", "checkin"),
    _route("POST", "/v1/checkins/{id}/checkout", "checkin"),
    _route("GET", "/v1/visits", "checkin"),
    _route("GET", "/v1/notifications", "notifier"),
    _route("GET", "/v1/notifications/stream", "notifier", stream=True),
    _route("POST", "/v1/notifications/{id}/read", "notifier"),
    _route("POST", "/v1/devices", "notifier"),
    _route("DELETE", "/v1/devices/{id}", "notifier"),
    _route("GET", "/v1/me/preferences", "notifier"),
    _route("PUT", "/v1/me/preferences", "notifier"),
)

#: Request headers passed on (everything else, cookies included, stays here).
_FORWARD_REQUEST = ("content-type", "accept", "accept-language", "last-event-id")
#: Response headers passed back.
_FORWARD_RESPONSE = ("content-type", "retry-after", "cache-control", "x-request-id")


def find_route(method: str, path: str) -> Route | None:
    for route in ROUTES:
        if route.method == method and route.pattern.match(path):
            return route
    return None


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


def check_csrf(request: Request) -> None:
    """Refuse a state-changing call that does not come from this app's pages."""
    origin = request.headers.get("origin")
    if origin is not None and origin != _own_origin(request):
        raise Problem("cross-site request refused", status=403, code="csrf", title="Forbidden")
    cookie = request.cookies.get(CSRF_COOKIE, "")
    header = request.headers.get(CSRF_HEADER, "")
    if not cookie or not hmac.compare_digest(cookie.encode(), header.encode()):
        raise Problem(
            "the X-CSRF-Token header must repeat the lindung_csrf cookie",
            status=403,
            code="csrf",
            title="Forbidden",
        )


def _own_origin(request: Request) -> str:
    host = request.headers.get("host", "")
    return f"{request.url.scheme}://{host}"


class Gateway:
    def __init__(self, settings: Settings, client: httpx.AsyncClient) -> None:
        self.settings = settings
        self.client = client
        self.bases: dict[Service, str] = {
            "checkin": settings.checkin_url,
            "health-records": settings.health_records_url,
            "notifier": settings.notifier_url,
        }

    def upstream_headers(self, request: Request, token: str | None) -> dict[str, str]:
        headers = {k: v for k in _FORWARD_REQUEST if (v := request.headers.get(k)) is not None}
        if request_id := request.headers.get("x-request-id"):
            headers["x-request-id"] = request_id[:64]
        if token:
            headers["authorization"] = f"Bearer {token}"
        return headers

    async def call(
        self,
        service: Service,
        method: str,
        path: str,
        *,
        headers: dict[str, str],
        body: bytes = b"",
        query: str = "",
    ) -> httpx.Response:
        url = self.bases[service] + path + (f"?{query}" if query else "")
        try:
            return await self.client.request(
                method,
                url,
                headers=headers,
                content=body or None,
                timeout=self.settings.upstream_timeout_seconds,
            )
        except httpx.HTTPError:
            raise Problem(
                f"the {service} service did not answer; try again shortly",
                status=502,
                code="upstream-unavailable",
                title="Bad gateway",
            ) from None

    async def forward(self, request: Request, path: str) -> Response:
        method = request.method
        route = find_route(method, path)
        if route is None:
            raise Problem(
                "no such citizen API route", status=404, code="not-found", title="Not found"
            )
        token = request.cookies.get(SESSION_COOKIE)
        if route.signed_in and not token:
            raise Problem("sign in first", status=401, code="unauthorized", title="Unauthorized")
        if method in UNSAFE_METHODS:
            check_csrf(request)
        query = request.url.query
        if len(query) > 512:
            raise Problem("the query string is too long", status=414, code="uri-too-long")
        body = b""
        if method in UNSAFE_METHODS:
            body = await request.body()  # bounded by the guard (the app's RequestGuard)
        headers = self.upstream_headers(request, token if route.signed_in else None)
        if route.stream:
            return await self._stream(route, path, headers, query)
        answer = await self.call(
            route.service, method, path, headers=headers, body=body, query=query
        )
        return self._reply(answer, answer.content)

    def _reply(self, answer: httpx.Response, content: bytes) -> Response:
        headers = {k: v for k in _FORWARD_RESPONSE if (v := answer.headers.get(k)) is not None}
        headers.setdefault("cache-control", "no-store")
        response = Response(content=content, status_code=answer.status_code, headers=headers)
        if answer.status_code == 401:
            # The token expired or was revoked: forget it, so the app asks to sign in again.
            response.delete_cookie(SESSION_COOKIE, path="/api")
        return response

    async def _stream(
        self, route: Route, path: str, headers: dict[str, str], query: str
    ) -> Response:
        url = self.bases[route.service] + path + (f"?{query}" if query else "")
        timeout = httpx.Timeout(
            self.settings.upstream_timeout_seconds, read=self.settings.stream_read_timeout_seconds
        )
        request = self.client.build_request("GET", url, headers=headers, timeout=timeout)
        try:
            upstream = await self.client.send(request, stream=True)
        except httpx.HTTPError:
            raise Problem(
                "the notifier did not answer; try again shortly",
                status=502,
                code="upstream-unavailable",
                title="Bad gateway",
            ) from None
        if upstream.status_code != 200:
            content = await upstream.aread()
            await upstream.aclose()
            return self._reply(upstream, content)

        async def relay() -> AsyncIterator[bytes]:
            try:
                async for chunk in upstream.aiter_raw():
                    yield chunk
            except httpx.HTTPError:
                return  # the browser's EventSource reconnects with Last-Event-ID
            finally:
                await upstream.aclose()

        return StreamingResponse(
            relay(),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
