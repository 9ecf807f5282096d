"""The citizen app's process: the Progressive Web App's files and its same-origin gateway.

``python -m lindung_citizen.api`` serves, on ``CITIZEN_APP_HTTP_PORT`` (8006):

- ``/`` the app (HTML, JavaScript modules, CSS, manifest, service worker, icons; no build);
- ``/api/session`` sign-in with the SMS code (the token goes into an httpOnly cookie), sign-out;
- ``/api/config`` what the app needs to know at start (the Web Push key);
- ``/api/v1/...`` the citizen routes of the services, forwarded (see :mod:`.gateway`);
- ``/healthz``, ``/readyz`` (the services behind it answer), ``/metrics``.
"""

from __future__ import annotations

import asyncio
import mimetypes
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.resources import files
from pathlib import Path
from typing import Any

import httpx
import orjson
from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from lindung_shared.app import LindungAPI, serve
from lindung_shared.errors import Problem, install_error_handlers
from lindung_shared.guard import RequestGuard
from lindung_shared.logging import configure_logging
from lindung_shared.metrics import install_metrics
from pydantic import BaseModel, Field, ValidationError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lindung_citizen.gateway import (
    CSRF_COOKIE,
    SESSION_COOKIE,
    Gateway,
    check_csrf,
    new_csrf_token,
)
from lindung_citizen.settings import Settings

STATIC = Path(str(files("lindung_citizen") / "static"))
mimetypes.add_type("application/manifest+json", ".webmanifest")
mimetypes.add_type("text/javascript", ".js")

#: The app loads nothing from elsewhere; camera frames and QR images stay in blob:/data: URLs.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; media-src 'self' blob:; worker-src 'self'; manifest-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


class SecurityHeaders:
    """Headers on every answer: the CSP above, no sniffing, no framing, no referrer, and the
    camera allowed for this origin only."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [
                    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
                    (b"x-content-type-options", b"nosniff"),
                    (b"x-frame-options", b"DENY"),
                    (b"referrer-policy", b"no-referrer"),
                    (b"permissions-policy", b"camera=(self), microphone=(), geolocation=()"),
                ]
                if scope["path"] == "/sw.js":
                    headers.append((b"cache-control", b"no-cache"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


#: A sign-in body is a request id and a code.
SIGN_IN_BODY_LIMIT = 4096


class SignIn(BaseModel):
    request_id: str = Field(min_length=1, max_length=64)
    code: str = Field(pattern=r"^\d{6}$")


def build_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    configure_logging(settings.service_name, settings.log_level)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=20)
        async with httpx.AsyncClient(limits=limits, follow_redirects=False) as client:
            app.state.gateway = Gateway(settings, client)
            yield

    app = LindungAPI(
        title="Lindung citizen app",
        description="The citizen app (an installable web app) and its same-origin gateway to "
        "the services' citizen APIs.",
        version="0.1.0",
        lifespan=lifespan,
        docs_url="/api/docs",
        openapi_url="/api/openapi.json",
        redoc_url=None,
    )
    install_error_handlers(app)
    # The services' own guard: bodies bounded before they are read (413 from Content-Length or
    # while streaming; 400 for a Content-Length that is not a number), NUL, lone surrogates
    # and deep JSON refused (422), inside the metrics middleware like every service.
    app.add_middleware(
        RequestGuard,
        default_limit=settings.max_body_bytes,
        limits={"/api/session": SIGN_IN_BODY_LIMIT},
    )
    install_metrics(app, settings.service_name)
    app.add_middleware(SecurityHeaders)

    def gateway(request: Request) -> Gateway:
        found: Gateway = request.app.state.gateway
        return found

    def set_csrf(response: Response, token: str) -> None:
        response.set_cookie(
            CSRF_COOKIE,
            token,
            path="/",
            samesite="strict",
            secure=settings.secure_cookies,
            httponly=False,  # read by the app to repeat it in X-CSRF-Token
        )

    @app.get("/healthz", tags=["operations"], summary="The process is alive")
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": settings.service_name}

    @app.get(
        "/readyz",
        tags=["operations"],
        summary="The services behind the gateway answer",
        responses={503: {"description": "a service is unreachable"}},
    )
    async def readyz(request: Request) -> JSONResponse:
        gw = gateway(request)

        async def alive(base: str) -> bool:
            try:
                answer = await gw.client.get(f"{base}/healthz", timeout=3)
            except httpx.HTTPError:
                return False
            return answer.status_code == 200

        names = list(gw.bases)
        results = await asyncio.gather(*(alive(gw.bases[n]) for n in names))
        ready = all(results)
        return JSONResponse(
            {
                "status": "ready" if ready else "not-ready",
                "checks": {
                    n: "ok" if ok else "unreachable" for n, ok in zip(names, results, strict=True)
                },
            },
            status_code=200 if ready else 503,
        )

    @app.get("/api/config", tags=["app"], summary="What the app needs at start")
    async def config() -> dict[str, Any]:
        return {"vapid_public_key": settings.vapid_public_key or None}

    @app.get(
        "/api/session",
        tags=["app"],
        summary="Whether this browser is signed in; hands out the CSRF token",
    )
    async def session(request: Request) -> JSONResponse:
        csrf = request.cookies.get(CSRF_COOKIE) or new_csrf_token()
        response = JSONResponse(
            {"signed_in": SESSION_COOKIE in request.cookies, "csrf": csrf},
            headers={"cache-control": "no-store"},
        )
        set_csrf(response, csrf)
        return response

    @app.post(
        "/api/session",
        tags=["app"],
        summary="Sign in with the SMS code (sets the httpOnly session cookie)",
        responses={401: {"description": "the code is wrong, used or expired"}},
    )
    async def sign_in(request: Request) -> Response:
        check_csrf(request)
        raw = await request.body()  # bounded by the guard
        try:
            body = SignIn.model_validate_json(raw or b"{}")
        except ValidationError as exc:
            raise Problem(
                "send the request_id of the code request and the 6-digit code",
                status=422,
                code="validation-error",
                title="Unprocessable content",
                extra={"errors": [e["msg"] for e in exc.errors(include_url=False)]},
            ) from None
        gw = gateway(request)
        answer = await gw.call(
            "health-records",
            "POST",
            "/v1/auth/token",
            headers={"content-type": "application/json"},
            body=orjson.dumps(body.model_dump()),
        )
        if answer.status_code != 200:
            return Response(
                answer.content,
                status_code=answer.status_code,
                media_type=answer.headers.get("content-type"),
            )
        token = answer.json()
        response = JSONResponse(
            {"signed_in": True, "person_id": token["person_id"], "expires_in": token["expires_in"]}
        )
        response.set_cookie(
            SESSION_COOKIE,
            token["access_token"],
            max_age=int(token["expires_in"]),
            path="/api",
            samesite="strict",
            secure=settings.secure_cookies,
            httponly=True,
        )
        # A fresh CSRF token with each session.
        set_csrf(response, new_csrf_token())
        return response

    @app.delete("/api/session", tags=["app"], summary="Sign out (forgets the session cookie)")
    async def sign_out(request: Request) -> Response:
        check_csrf(request)
        response = Response(status_code=204)
        response.delete_cookie(SESSION_COOKIE, path="/api")
        return response

    @app.api_route(
        "/api/v1/{path:path}",
        methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
        tags=["gateway"],
        summary="The services' citizen routes, forwarded with the session's token",
    )
    async def forward(request: Request, path: str) -> Response:
        return await gateway(request).forward(request, "/v1/" + path)

    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers={"cache-control": "no-cache"})

    app.mount("/", StaticFiles(directory=STATIC), name="static")
    return app


def main() -> None:
    settings = Settings()
    serve(build_app(settings), settings)


if __name__ == "__main__":
    main()
