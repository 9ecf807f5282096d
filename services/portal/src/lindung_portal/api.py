"""The portal's process: ``python -m lindung_portal.api``."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from lindung_shared.app import create_app, serve
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lindung_portal import manager, officer, web
from lindung_portal.backend import Backend, BackendUnavailable
from lindung_portal.settings import Settings

DESCRIPTION = """
The web portal of venue managers and regional health offices: server-rendered pages over
the four services' APIs (a backend-for-frontend). Sessions are httpOnly cookies; the services
are called with short-lived tokens minted here for the signed-in user.
"""

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


def build_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    async def start(app: FastAPI) -> None:
        app.state.backend = Backend(settings)

    async def stop(app: FastAPI) -> None:
        await app.state.backend.close()

    app = create_app(
        settings=settings,
        title="Lindung portal",
        description=DESCRIPTION,
        routers=[web.router, manager.router, officer.router],
        on_startup=[start],
        on_shutdown=[stop],
        token_revocations=False,  # no bearer routes: sessions; the services check tokens
        kafka=False,  # no Kafka client (and no Kafka principal): /readyz asks the database only
    )
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")

    @app.exception_handler(web.SignInRequired)
    async def _sign_in(request: Request, exc: web.SignInRequired) -> Response:
        return RedirectResponse("/signin", status_code=303)

    @app.exception_handler(web.PageNotFound)
    async def _not_found(request: Request, exc: web.PageNotFound) -> Response:
        return web.render(request, "message.html", status=404, message_key="not_found")

    @app.exception_handler(BackendUnavailable)
    async def _unavailable(request: Request, exc: BackendUnavailable) -> Response:
        response = web.render(request, "message.html", status=503, message_key="unavailable")
        response.headers["Retry-After"] = "5"
        return response

    app.add_middleware(SecurityHeaders)
    return app


class SecurityHeaders:
    """Adds the security headers to every response (a plain ASGI middleware: it leaves the
    event streams alone)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for key, value in SECURITY_HEADERS.items():
                    if key not in headers:
                        headers[key] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)


app = build_app()


def main() -> None:
    serve(app, Settings())


if __name__ == "__main__":
    main()
