"""Signing in with a one-time code sent by SMS (through the notifier)."""

from __future__ import annotations

import logging
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from lindung_shared import outbox
from lindung_shared.auth import Role, TokenIssuer
from lindung_shared.errors import Problem, Unauthorized, Unprocessable
from lindung_shared.events import Language, make_event
from lindung_shared.events.catalogue import SignInCodeIssuedV2
from sqlalchemy.ext.asyncio import AsyncSession

from lindung_health.models import Person, SignInCode
from lindung_health.people import repository as people
from lindung_health.people.contact import has_phone
from lindung_health.people.phone import InvalidPhone, normalise_phone
from lindung_health.people.service import bind_phone
from lindung_health.signin import repository
from lindung_health.signin.schemas import CodeIssued, CodeRequest, TokenOut
from lindung_health.toolkit import Toolkit

log = logging.getLogger(__name__)

RATE_WINDOW = timedelta(minutes=15)
MAX_CODES_PER_WINDOW = 3


class TooManyCodes(Problem):
    status, code, title = 429, "too-many-codes", "Too many sign-in codes"


async def request_code(
    session: AsyncSession, tk: Toolkit, request: CodeRequest, now: datetime
) -> CodeIssued:
    """Issue a code when the phone (and NIK, if given) name exactly one person. An unknown
    phone gets the same answer (nothing is sent), so the endpoint does not reveal who is
    registered."""
    try:
        phone = normalise_phone(request.phone)
    except InvalidPhone as exc:
        raise Unprocessable(str(exc), code="invalid-phone") from None
    expires = now + timedelta(seconds=tk.settings.sign_in_code_ttl_seconds)
    person = await _person_for(session, tk, phone, request.nik)
    if person is None:
        log.info("sign-in code requested for an unknown phone; nothing sent")
        return CodeIssued(request_id=uuid.uuid4(), expires_at=expires)
    return await issue_code(session, tk, person, phone=phone, now=now)


async def issue_code(
    session: AsyncSession,
    tk: Toolkit,
    person: Person,
    *,
    phone: str,
    now: datetime,
    purpose: str = "sign-in",
    officer_id: str | None = None,
) -> CodeIssued:
    """Send ``person`` a one-time code by SMS to ``phone`` (their own, or the new phone a
    phone change or an officer's recovery must prove). At most 3 codes per person per 15
    minutes, whatever their purpose."""
    expires = now + timedelta(seconds=tk.settings.sign_in_code_ttl_seconds)
    if await repository.recent_count(session, person.id, now - RATE_WINDOW) >= MAX_CODES_PER_WINDOW:
        raise TooManyCodes(
            f"at most {MAX_CODES_PER_WINDOW} codes per {int(RATE_WINDOW.total_seconds() // 60)} "
            "minutes; try again later"
        )
    code_id = uuid.uuid4()
    code = f"{secrets.randbelow(1_000_000):06d}"
    await repository.add(
        session,
        SignInCode(
            id=code_id,
            person_id=person.id,
            code_hash=tk.protector.code_hash(code_id.bytes, code),
            expires_at=expires,
            attempts=0,
            created_at=now,
            purpose=purpose,
            new_phone_ciphertext=(
                None if purpose == "sign-in" else tk.protector.seal(phone, "phone")
            ),
            officer_id=officer_id,
        ),
    )
    await outbox.add_events(
        session,
        [
            make_event(
                "sign_in.code_issued",
                SignInCodeIssuedV2(
                    person_id=person.id,
                    phone_sealed=tk.sealer.seal(phone, "phone"),
                    code_sealed=tk.sealer.seal(code, "code"),
                    language=Language(person.language),
                    expires_at=expires,
                ),
            )
        ],
    )
    log.info(
        "one-time code issued",
        extra={"person_id": str(person.id), "request_id": str(code_id), "purpose": purpose},
    )
    if tk.settings.environment == "development":
        log.info(
            "development sign-in code %s (request %s)",
            code,
            code_id,
            extra={"person_id": str(person.id)},
        )
    return CodeIssued(request_id=code_id, expires_at=expires)


async def _person_for(
    session: AsyncSession, tk: Toolkit, phone: str, nik: str | None
) -> Person | None:
    if nik is not None:
        person = await people.by_nik_hash(session, tk.protector.hash(nik))
        return person if person is not None and has_phone(tk.protector, person, phone) else None
    found = await people.by_phone(session, tk.protector.phone_hash(phone))
    if len(found) > 1:
        raise Unprocessable(
            "several people share this phone number; add the NIK of the person signing in",
            code="nik-needed",
        )
    return found[0] if found else None


@dataclass(frozen=True)
class SignInFailure:
    problem: Problem


async def exchange_code(
    session: AsyncSession,
    tk: Toolkit,
    issuer: TokenIssuer,
    request_id: uuid.UUID,
    code: str,
    now: datetime,
) -> TokenOut | SignInFailure:
    """Trade a code for a citizen token. A failure is *returned*, not raised, so that the
    caller commits the attempt counter (raising would roll it back)."""
    refused = SignInFailure(BAD_CODE)
    row = await consume_code(session, tk, request_id, code, "sign-in", now)
    if row is None:
        return refused
    person = await people.get(session, row.person_id)
    if person is None:
        return refused
    try:
        await bind_phone(session, tk, person, now)
    except Problem as problem:
        return SignInFailure(problem)
    log.info("citizen signed in", extra={"person_id": str(row.person_id)})
    return citizen_token(tk, issuer, person, now)


def citizen_token(tk: Toolkit, issuer: TokenIssuer, person: Person, now: datetime) -> TokenOut:
    """A citizen token of the person's current generation (raising it revokes the token)."""
    ttl = tk.settings.citizen_token_ttl_seconds
    token = issuer.issue(
        subject=str(person.id),
        roles=[Role.CITIZEN],
        ttl_seconds=ttl,
        now=now.timestamp(),
        generation=person.token_generation,
    )
    return TokenOut(access_token=token, expires_in=ttl, person_id=person.id)


BAD_CODE = Unauthorized("the code is wrong, used or expired", code="bad-code")


async def consume_code(
    session: AsyncSession,
    tk: Toolkit,
    request_id: uuid.UUID,
    code: str,
    purpose: str,
    now: datetime,
    *,
    person_id: uuid.UUID | None = None,
    officer_id: str | None = None,
) -> SignInCode | None:
    """The code row if ``code`` is right for it (unused, unexpired, attempts left, sent for
    ``purpose``, to ``person_id`` / by ``officer_id`` when given), now consumed; else None.
    Attempts are counted in the session: the caller commits them even when it refuses (so it
    returns a failure rather than raising)."""
    row = await repository.lock(session, request_id)
    if row is None or row.consumed_at is not None or row.expires_at <= now:
        return None
    if row.purpose != purpose or row.attempts >= tk.settings.sign_in_code_max_attempts:
        return None
    if (person_id is not None and row.person_id != person_id) or (
        officer_id is not None and row.officer_id != officer_id
    ):
        return None
    row.attempts += 1
    if not secrets.compare_digest(row.code_hash, tk.protector.code_hash(row.id.bytes, code)):
        await session.flush()
        return None
    row.consumed_at = now
    await session.flush()
    return row
