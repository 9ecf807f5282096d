"""Sign-up, sign-in, sessions, CSRF and TOTP through the portal's pages (real database)."""

from __future__ import annotations

import uuid

import httpx
import pyotp
from lindung_portal import accounts
from lindung_portal.i18n import negotiate
from lindung_portal.settings import Settings
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import Request

from .conftest import csrf_of

PASSWORD = "correct horse battery"


def email() -> str:
    return f"m-{uuid.uuid4().hex[:8]}@example.id"


async def sign_up(client: httpx.AsyncClient, address: str) -> httpx.Response:
    form = await client.get("/signup")
    return await client.post(
        "/signup",
        data={"csrf": csrf_of(form.text), "email": address, "name": "Sari", "password": PASSWORD},
    )


async def test_sign_up_opens_an_httponly_session_and_stores_an_argon2id_hash(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    address = email()
    answer = await sign_up(client, address.upper())
    assert answer.status_code == 303 and answer.headers["location"] == "/venues"
    cookie = answer.headers["set-cookie"]
    assert "lindung_portal_session=" in cookie and "HttpOnly" in cookie
    assert "samesite=lax" in cookie.lower()
    async with sessionmaker() as db:
        row = (
            await db.execute(
                text("SELECT password_hash, role FROM accounts WHERE email = :e"), {"e": address}
            )
        ).one()
        stored = (await db.execute(text("SELECT id FROM sessions"))).scalars().all()
    assert row.password_hash.startswith("$argon2id$") and row.role == "manager"
    token = client.cookies["lindung_portal_session"]
    assert token not in stored, "only the token's digest is stored"
    page = await client.get("/account")
    assert page.status_code == 200 and address in page.text


async def test_a_form_without_its_csrf_token_changes_nothing(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    address = email()
    await client.get("/signup")
    answer = await client.post(
        "/signup", data={"csrf": "forged", "email": address, "name": "X", "password": PASSWORD}
    )
    assert answer.status_code == 403
    async with sessionmaker() as db:
        found = await db.execute(text("SELECT 1 FROM accounts WHERE email = :e"), {"e": address})
        assert found.first() is None
    # Signed in, a form from another origin is refused even with the right token.
    await sign_up(client, email())
    venues = await client.get("/account")
    forged = await client.post(
        "/signout", data={"csrf": csrf_of(venues.text)}, headers={"Origin": "https://evil.example"}
    )
    assert forged.status_code == 403
    assert (await client.get("/account")).status_code == 200, "still signed in"


async def test_a_taken_email_and_a_short_password_are_told_apart(
    client: httpx.AsyncClient,
) -> None:
    address = email()
    assert (await sign_up(client, address)).status_code == 303
    client.cookies.clear()
    again = await sign_up(client, address)
    assert again.status_code == 409 and "sudah terdaftar" in again.text
    form = await client.get("/signup")
    short = await client.post(
        "/signup",
        data={"csrf": csrf_of(form.text), "email": email(), "name": "X", "password": "short"},
    )
    assert short.status_code == 422


async def test_sign_in_wrong_password_then_lockout(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    address = email()
    await sign_up(client, address)
    client.cookies.clear()

    async def attempt(password: str) -> httpx.Response:
        form = await client.get("/signin")
        return await client.post(
            "/signin", data={"csrf": csrf_of(form.text), "email": address, "password": password}
        )

    for _ in range(settings.max_failed_sign_ins):
        assert (await attempt("wrong password!")).status_code == 401
    locked = await attempt(PASSWORD)
    assert locked.status_code == 401, "locked for a while, even with the right password"


async def test_sign_out_ends_the_session(client: httpx.AsyncClient) -> None:
    await sign_up(client, email())
    page = await client.get("/account")
    out = await client.post("/signout", data={"csrf": csrf_of(page.text)})
    assert out.status_code == 303
    assert (await client.get("/account")).headers["location"] == "/signin"


async def test_totp_second_factor(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    address = email()
    await sign_up(client, address)
    page = await client.get("/account")
    secret_start = page.text.index('name="secret" value="') + len('name="secret" value="')
    secret = page.text[secret_start : secret_start + 32]
    wrong = await client.post(
        "/account/totp", data={"csrf": csrf_of(page.text), "secret": secret, "code": "000000"}
    )
    assert wrong.status_code == 422
    ok = await client.post(
        "/account/totp",
        data={"csrf": csrf_of(page.text), "secret": secret, "code": pyotp.TOTP(secret).now()},
    )
    assert ok.status_code == 303
    async with sessionmaker() as db:
        stored = (
            await db.execute(
                select(accounts.accounts.c.totp_secret).where(accounts.accounts.c.email == address)
            )
        ).scalar_one()
    assert stored and secret not in stored, "the secret is kept encrypted"
    client.cookies.clear()
    form = await client.get("/signin")
    signed = await client.post(
        "/signin", data={"csrf": csrf_of(form.text), "email": address, "password": PASSWORD}
    )
    assert signed.headers["location"] == "/signin/totp"
    assert (await client.get("/account")).headers["location"] == "/signin", "not in yet"
    step = await client.get("/signin/totp")
    bad = await client.post("/signin/totp", data={"csrf": csrf_of(step.text), "code": "123456"})
    assert bad.status_code == 401
    good = await client.post(
        "/signin/totp", data={"csrf": csrf_of(step.text), "code": pyotp.TOTP(secret).now()}
    )
    assert good.status_code == 303
    assert (await client.get("/account")).status_code == 200


async def test_english_on_request(client: httpx.AsyncClient) -> None:
    indonesian = await client.get("/signin")
    assert '<html lang="id">' in indonesian.text and "Masuk" in indonesian.text
    english = await client.get("/signin", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert '<html lang="en">' in english.text and "Sign in" in english.text
    switched = await client.get("/lang/en", params={"next": "/signin"})
    assert switched.headers["location"] == "/signin"
    assert '<html lang="en">' in (await client.get("/signin")).text
    offsite = await client.get("/lang/id", params={"next": "//evil.example/"})
    assert offsite.headers["location"] == "/"


def test_accept_language_negotiation() -> None:
    def request(header: str) -> Request:
        return Request({"type": "http", "headers": [(b"accept-language", header.encode())]})

    assert negotiate(request("")) == "id"
    assert negotiate(request("en-US,en;q=0.9")) == "en"
    assert negotiate(request("fr, en;q=0.5, id;q=0.8")) == "id"
    assert negotiate(request("en;q=abc")) == "id"


def test_jurisdictions() -> None:
    regency = accounts.Jurisdiction.parse("regencies", ["3273"])
    assert regency.covers("3273") and not regency.covers("3171")
    province = accounts.Jurisdiction.parse("province", ["32"])
    assert province.covers("3273") and not province.covers("3171")
    assert accounts.Jurisdiction.parse("national", []).covers("9471")
    assert regency.claim() == {"regencies": ["3273"]}
