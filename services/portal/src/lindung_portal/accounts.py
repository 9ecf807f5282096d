"""Accounts: sign-up, password check (argon2id), TOTP, officers' jurisdictions."""

from __future__ import annotations

import base64
import hashlib
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.fernet import Fernet, InvalidToken
from lindung_shared.errors import Conflict, Unprocessable
from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from lindung_portal.models import accounts
from lindung_portal.settings import Settings

#: argon2-cffi's defaults are argon2id with the RFC 9106 "low memory" parameters.
_hasher = PasswordHasher()
#: A hash to verify against when the e-mail is unknown, so that the answer takes as long.
_DUMMY_HASH = _hasher.hash("not a password anyone has")

EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,190}\.[^@\s]{2,63}$")
MIN_PASSWORD = 10
MAX_PASSWORD = 200


@dataclass(frozen=True)
class Jurisdiction:
    """Where an officer's powers reach: ``national``, provinces or regencies."""

    kind: str
    codes: tuple[str, ...] = ()

    def covers(self, regency_code: str) -> bool:
        if self.kind == "national":
            return True
        if self.kind == "province":
            return regency_code[:2] in self.codes
        return regency_code in self.codes

    @classmethod
    def parse(cls, kind: str, codes: list[str] | tuple[str, ...]) -> Jurisdiction:
        if kind == "national":
            if codes:
                raise Unprocessable("a national jurisdiction names no codes")
            return cls("national")
        width = {"province": 2, "regencies": 4}.get(kind)
        if width is None:
            raise Unprocessable("jurisdiction must be national, province or regencies")
        if not codes or not all(len(c) == width and c.isdigit() for c in codes):
            raise Unprocessable(f"a {kind} jurisdiction needs {width}-digit codes")
        return cls(kind, tuple(sorted(set(codes))))

    def claim(self) -> dict[str, object]:
        """The ``jurisdiction`` claim of the officer's service tokens."""
        if self.kind == "national":
            return {"national": True}
        key = "provinces" if self.kind == "province" else "regencies"
        return {key: list(self.codes)}


@dataclass(frozen=True)
class Account:
    id: uuid.UUID
    email: str
    name: str
    role: str
    jurisdiction: Jurisdiction | None
    is_admin: bool
    totp_enabled: bool
    language: str

    @property
    def subject(self) -> str:
        """The ``sub`` of this account's service tokens (the venue's ``manager_id``)."""
        return f"portal-{self.id}"

    @property
    def is_manager(self) -> bool:
        return self.role == "manager"

    @property
    def is_officer(self) -> bool:
        return self.role == "officer"


def _account(row: object) -> Account:
    r = row._mapping  # type: ignore[attr-defined]
    jurisdiction = (
        Jurisdiction(r["jurisdiction_kind"], tuple(r["jurisdiction_codes"]))
        if r["jurisdiction_kind"]
        else None
    )
    return Account(
        id=r["id"],
        email=r["email"],
        name=r["name"],
        role=r["role"],
        jurisdiction=jurisdiction,
        is_admin=r["is_admin"],
        totp_enabled=r["totp_secret"] is not None,
        language=r["language"],
    )


def normalise_email(email: str) -> str:
    value = email.strip().lower()
    if not EMAIL.match(value):
        raise Unprocessable("that is not an e-mail address", code="bad-email")
    return value


def check_password(password: str) -> None:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise Unprocessable(
            f"the password needs {MIN_PASSWORD} to {MAX_PASSWORD} characters", code="bad-password"
        )


async def create(
    session: AsyncSession,
    *,
    email: str,
    name: str,
    password: str,
    role: str,
    jurisdiction: Jurisdiction | None = None,
    is_admin: bool = False,
    language: str = "id",
    created_by: str | None = None,
) -> Account:
    email = normalise_email(email)
    name = name.strip()
    if not 1 <= len(name) <= 200:
        raise Unprocessable("the name needs 1 to 200 characters", code="bad-name")
    check_password(password)
    row = (
        await session.execute(
            insert(accounts)
            .values(
                id=uuid.uuid4(),
                email=email,
                name=name,
                password_hash=_hasher.hash(password),
                role=role,
                jurisdiction_kind=jurisdiction.kind if jurisdiction else None,
                jurisdiction_codes=list(jurisdiction.codes) if jurisdiction else [],
                is_admin=is_admin,
                language=language,
                created_by=created_by,
            )
            .on_conflict_do_nothing(index_elements=["email"])
            .returning(*accounts.c)
        )
    ).first()
    if row is None:
        raise Conflict("an account with that e-mail exists", code="email-taken")
    return _account(row)


async def get(session: AsyncSession, account_id: uuid.UUID) -> Account | None:
    row = (await session.execute(select(accounts).where(accounts.c.id == account_id))).first()
    return _account(row) if row else None


class SignInRefused(Exception):
    """Wrong e-mail or password, or the account is locked for a while (one answer for all)."""


async def authenticate(
    session: AsyncSession, email: str, password: str, *, now: datetime, settings: Settings
) -> Account:
    """The account if ``password`` is right. Failures count; too many lock the account for a
    while. An unknown e-mail costs the same hash check as a known one."""
    email = email.strip().lower()
    row = (
        await session.execute(select(accounts).where(accounts.c.email == email).with_for_update())
    ).first()
    if row is None:
        _verify(_DUMMY_HASH, password)
        raise SignInRefused
    r = row._mapping
    if r["locked_until"] is not None and r["locked_until"] > now:
        _verify(_DUMMY_HASH, password)
        raise SignInRefused
    if not _verify(r["password_hash"], password):
        failures = r["failed_sign_ins"] + 1
        locked = failures >= settings.max_failed_sign_ins
        await session.execute(
            update(accounts)
            .where(accounts.c.id == r["id"])
            .values(
                failed_sign_ins=0 if locked else failures,
                locked_until=now + timedelta(minutes=settings.lockout_minutes) if locked else None,
            )
        )
        raise SignInRefused
    values: dict[str, object] = {"failed_sign_ins": 0, "locked_until": None}
    if _hasher.check_needs_rehash(r["password_hash"]):
        values["password_hash"] = _hasher.hash(password)
    await session.execute(update(accounts).where(accounts.c.id == r["id"]).values(**values))
    return _account(row)


def _verify(hashed: str, password: str) -> bool:
    try:
        return _hasher.verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False


# --- TOTP ------------------------------------------------------------------------------------


def _fernet(key: str) -> Fernet:
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(key.encode()).digest()))


def new_totp_secret() -> str:
    return pyotp.random_base32()


def totp_uri(secret: str, email: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name="Lindung")


def totp_ok(secret: str, code: str) -> bool:
    code = code.strip().replace(" ", "")
    return code.isdigit() and len(code) == 6 and pyotp.TOTP(secret).verify(code, valid_window=1)


async def enable_totp(
    session: AsyncSession, account_id: uuid.UUID, secret: str, encryption_key: str
) -> None:
    token = _fernet(encryption_key).encrypt(secret.encode()).decode()
    await session.execute(
        update(accounts).where(accounts.c.id == account_id).values(totp_secret=token)
    )


async def totp_secret(
    session: AsyncSession, account_id: uuid.UUID, encryption_key: str
) -> str | None:
    token = (
        await session.execute(select(accounts.c.totp_secret).where(accounts.c.id == account_id))
    ).scalar_one_or_none()
    if token is None:
        return None
    try:
        return _fernet(encryption_key).decrypt(token.encode()).decode()
    except InvalidToken:
        return None


async def set_language(session: AsyncSession, account_id: uuid.UUID, language: str) -> None:
    await session.execute(
        update(accounts).where(accounts.c.id == account_id).values(language=language)
    )


async def count(session: AsyncSession) -> int:
    return int((await session.execute(select(func.count()).select_from(accounts))).scalar_one())
