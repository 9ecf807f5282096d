"""Server-side sessions in httpOnly SameSite cookies, and CSRF tokens for every form.

The cookie holds 32 random bytes; the table keeps their SHA-256. Signed-in forms carry the
session's synchronizer token; the sign-in and sign-up forms (no session yet) a double-submit
token from a separate cookie. Every POST is also refused when its ``Origin`` is another site.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from fastapi import Request, Response
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from lindung_portal import accounts
from lindung_portal.accounts import Account
from lindung_portal.models import sessions
from lindung_portal.settings import Settings

SESSION_COOKIE = "lindung_portal_session"
CSRF_COOKIE = "lindung_portal_csrf"


@dataclass(frozen=True)
class WebSession:
    id: str
    account: Account
    csrf_token: str
    second_factor_due: bool


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def secure_cookies(request: Request, settings: Settings) -> bool:
    if settings.cookie_secure == "always":
        return True
    if settings.cookie_secure == "never":
        return False
    forwarded = request.headers.get("x-forwarded-proto", "")
    return request.url.scheme == "https" or forwarded == "https"


async def open_session(
    db: AsyncSession,
    request: Request,
    response: Response,
    settings: Settings,
    account: Account,
    *,
    second_factor_due: bool,
) -> None:
    token = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    await db.execute(
        sessions.insert().values(
            id=_digest(token),
            account_id=account.id,
            csrf_token=secrets.token_urlsafe(32),
            second_factor_due=second_factor_due,
            expires_at=now + timedelta(hours=settings.session_hours),
        )
    )
    # Old sessions of this account that have expired go with each new one.
    await db.execute(
        delete(sessions).where(sessions.c.account_id == account.id, sessions.c.expires_at < now)
    )
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(settings.session_hours * 3600),
        httponly=True,
        secure=secure_cookies(request, settings),
        samesite="lax",
        path="/",
    )


async def current(db: AsyncSession, request: Request) -> WebSession | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token or len(token) > 100:
        return None
    row = (
        await db.execute(
            select(sessions).where(
                sessions.c.id == _digest(token), sessions.c.expires_at > datetime.now(UTC)
            )
        )
    ).first()
    if row is None:
        return None
    account = await accounts.get(db, row.account_id)
    if account is None:
        return None
    return WebSession(row.id, account, row.csrf_token, row.second_factor_due)


async def second_factor_given(db: AsyncSession, web: WebSession) -> None:
    await db.execute(
        update(sessions).where(sessions.c.id == web.id).values(second_factor_due=False)
    )


async def close_session(db: AsyncSession, request: Request, response: Response) -> None:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        await db.execute(delete(sessions).where(sessions.c.id == _digest(token[:100])))
    response.delete_cookie(SESSION_COOKIE, path="/")


def anonymous_csrf(request: Request, response: Response, settings: Settings) -> str:
    """The double-submit token of the sign-in and sign-up forms (set when missing)."""
    token = request.cookies.get(CSRF_COOKIE)
    if not token or len(token) > 100:
        token = secrets.token_urlsafe(32)
        response.set_cookie(
            CSRF_COOKIE,
            token,
            httponly=True,
            secure=secure_cookies(request, settings),
            samesite="strict",
            path="/",
        )
    return token


def csrf_ok(request: Request, submitted: str | None, web: WebSession | None) -> bool:
    origin = request.headers.get("origin")
    if origin and origin != "null":
        expected = f"{request.url.scheme}://{request.url.netloc}"
        forwarded = request.headers.get("x-forwarded-host")
        allowed = {expected}
        if forwarded:
            allowed.add(f"{request.headers.get('x-forwarded-proto', 'https')}://{forwarded}")
        if origin not in allowed:
            return False
    if not submitted:
        return False
    expected_token = web.csrf_token if web else request.cookies.get(CSRF_COOKIE)
    return bool(expected_token) and hmac.compare_digest(submitted, expected_token or "")
