"""The portal's pages: sign-up, sign-in (with the optional TOTP step), the venue manager's
venues, and the officer's regencies. Forms post back here; the live parts are server-sent
event streams (``live.py``)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from lindung_shared.db import SessionDep
from lindung_shared.errors import Conflict, Unprocessable
from lindung_shared.events.catalogue import VenueCategory

from lindung_portal import accounts
from lindung_portal import web_sessions as ws
from lindung_portal.accounts import Account
from lindung_portal.backend import Backend
from lindung_portal.i18n import LANG_COOKIE, LANGUAGES, negotiate, translator
from lindung_portal.settings import Settings

templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
router = APIRouter(include_in_schema=False)

Text = Annotated[str, Form(max_length=2000)]
OptionalText = Annotated[str, Form(max_length=2000)]


class SignInRequired(Exception):
    """The page needs a signed-in user: redirect to the sign-in form."""


class PageNotFound(Exception):
    """Unknown, or outside what this user may see (the same answer for both)."""


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def backend_of(request: Request) -> Backend:
    backend: Backend = request.app.state.backend
    return backend


def render(
    request: Request,
    template: str,
    *,
    web: ws.WebSession | None = None,
    status: int = 200,
    csrf: str | None = None,
    **context: Any,
) -> HTMLResponse:
    language = negotiate(request)
    response = templates.TemplateResponse(
        request,
        template,
        {
            "t": translator(language),
            "lang": language,
            "other_lang": "en" if language == "id" else "id",
            "web": web,
            "account": web.account if web else None,
            "csrf": csrf if csrf is not None else (web.csrf_token if web else ""),
            **context,
        },
        status_code=status,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


async def signed_in(request: Request, db: SessionDep) -> ws.WebSession:
    web = await ws.current(db, request)
    if web is None or web.second_factor_due:
        raise SignInRequired
    return web


WebDep = Annotated[ws.WebSession, Depends(signed_in)]


def see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def refuse_csrf(request: Request, web: ws.WebSession | None) -> HTMLResponse:
    return render(request, "message.html", web=web, status=403, message_key="bad_form")


# --- language ---------------------------------------------------------------------------------


@router.get("/lang/{language}")
async def switch_language(request: Request, language: str, next: str = "/") -> Response:
    target = next if next.startswith("/") and not next.startswith("//") else "/"
    response = see_other(target)
    if language in LANGUAGES:
        response.set_cookie(LANG_COOKIE, language, max_age=365 * 86400, samesite="lax", path="/")
    return response


# --- sign-up, sign-in, sign-out -----------------------------------------------------------------


@router.get("/")
async def home(request: Request, db: SessionDep) -> Response:
    web = await ws.current(db, request)
    if web is None or web.second_factor_due:
        return see_other("/signin")
    return see_other("/venues" if web.account.is_manager else "/regencies")


def _anonymous_form(request: Request, template: str, status: int = 200, **context: Any) -> Response:
    probe = Response()
    token = ws.anonymous_csrf(request, probe, settings_of(request))
    response = render(request, template, status=status, csrf=token, **context)
    for key, value in probe.headers.items():
        if key == "set-cookie":
            response.headers.append(key, value)
    return response


@router.get("/signup")
async def signup_form(request: Request) -> Response:
    return _anonymous_form(request, "signup.html", form={})


@router.post("/signup")
async def signup(
    request: Request,
    db: SessionDep,
    email: Text = "",
    name: Text = "",
    password: Text = "",
    csrf: OptionalText = "",
) -> Response:
    if not ws.csrf_ok(request, csrf, None):
        return refuse_csrf(request, None)
    try:
        account = await accounts.create(
            db,
            email=email,
            name=name,
            password=password,
            role="manager",
            language=negotiate(request),
        )
    except (Unprocessable, Conflict) as problem:
        key = {"email-taken": "email_taken", "bad-email": "bad_email", "bad-name": "bad_name"}
        return _anonymous_form(
            request,
            "signup.html",
            status=problem.status,
            error=key.get(problem.code or "", "bad_password"),
            form={"email": email, "name": name},
        )
    response = see_other("/venues")
    await ws.open_session(
        db, request, response, settings_of(request), account, second_factor_due=False
    )
    return response


@router.get("/signin")
async def signin_form(request: Request) -> Response:
    return _anonymous_form(request, "signin.html", form={})


@router.post("/signin")
async def signin(
    request: Request,
    db: SessionDep,
    email: Text = "",
    password: Text = "",
    csrf: OptionalText = "",
) -> Response:
    if not ws.csrf_ok(request, csrf, None):
        return refuse_csrf(request, None)
    try:
        account = await accounts.authenticate(
            db, email, password, now=datetime.now(UTC), settings=settings_of(request)
        )
    except accounts.SignInRefused:
        return _anonymous_form(
            request, "signin.html", status=401, error="bad_sign_in", form={"email": email}
        )
    response = see_other("/signin/totp" if account.totp_enabled else "/")
    await ws.open_session(
        db,
        request,
        response,
        settings_of(request),
        account,
        second_factor_due=account.totp_enabled,
    )
    return response


@router.get("/signin/totp")
async def totp_form(request: Request, db: SessionDep) -> Response:
    web = await ws.current(db, request)
    if web is None:
        return see_other("/signin")
    return render(request, "totp.html", web=None, csrf=web.csrf_token)


@router.post("/signin/totp")
async def totp_check(
    request: Request, db: SessionDep, code: Text = "", csrf: OptionalText = ""
) -> Response:
    web = await ws.current(db, request)
    if web is None:
        return see_other("/signin")
    if not ws.csrf_ok(request, csrf, web):
        return refuse_csrf(request, None)
    key = settings_of(request).totp_encryption_key.get_secret_value()
    secret = await accounts.totp_secret(db, web.account.id, key)
    if secret is None or not accounts.totp_ok(secret, code):
        return render(request, "totp.html", csrf=web.csrf_token, status=401, error="totp_wrong")
    await ws.second_factor_given(db, web)
    return see_other("/")


@router.post("/signout")
async def signout(request: Request, db: SessionDep, csrf: OptionalText = "") -> Response:
    web = await ws.current(db, request)
    if web is not None and not ws.csrf_ok(request, csrf, web):
        return refuse_csrf(request, web)
    response = see_other("/signin")
    await ws.close_session(db, request, response)
    return response


# --- account: the second factor ---------------------------------------------------------------


@router.get("/account")
async def account_page(request: Request, web: WebDep) -> Response:
    secret = accounts.new_totp_secret()
    return render(
        request,
        "account.html",
        web=web,
        secret=secret,
        uri=accounts.totp_uri(secret, web.account.email),
    )


@router.post("/account/totp")
async def enable_totp(
    request: Request,
    db: SessionDep,
    web: WebDep,
    secret: Text = "",
    code: Text = "",
    csrf: OptionalText = "",
) -> Response:
    if not ws.csrf_ok(request, csrf, web):
        return refuse_csrf(request, web)
    if len(secret) != 32 or not accounts.totp_ok(secret, code):
        return render(
            request,
            "account.html",
            web=web,
            status=422,
            error="totp_wrong",
            secret=secret,
            uri=accounts.totp_uri(secret, web.account.email),
        )
    key = settings_of(request).totp_encryption_key.get_secret_value()
    await accounts.enable_totp(db, web.account.id, secret, key)
    return see_other("/account?saved=1")


CATEGORIES = [c.value for c in VenueCategory]


def manager_only(web: ws.WebSession) -> Account:
    if not web.account.is_manager:
        raise PageNotFound
    return web.account


def officer_only(web: ws.WebSession) -> Account:
    if not web.account.is_officer:
        raise PageNotFound
    return web.account


def parse_uuid(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise PageNotFound from None
