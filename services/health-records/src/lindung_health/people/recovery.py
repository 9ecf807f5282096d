"""Moving an account to another phone, and revoking its tokens.

- A person changes their phone: a code goes to the new number; once it comes back the
  account moves, the old number is told and every earlier token is revoked (the answer
  carries a fresh one).
- A health officer recovers a NIK bound to someone else's phone (the real holder, seen in
  person with their KTP): a code goes to the holder's phone; once the officer enters it the
  NIK moves there, the old number is told, every token of the old binding is revoked, and
  both steps are in the append-only audit log with the officer's stated purpose.
- A person signs out everywhere: every token so far is revoked.

Revocation raises ``people.token_generation`` and publishes ``person.tokens_revoked`` through
the outbox; every API process refuses the older tokens within a second
(:mod:`lindung_shared.revocation`).
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime

from lindung_shared import outbox
from lindung_shared.auth import TokenIssuer
from lindung_shared.errors import Conflict, NotFound, Problem, Unprocessable
from lindung_shared.events import Language, make_event
from lindung_shared.events.catalogue import PersonPhoneChanged, RevocationReason, TokensRevoked
from sqlalchemy.ext.asyncio import AsyncSession

from lindung_health.audit import repository as audit
from lindung_health.models import Person
from lindung_health.people import repository
from lindung_health.people.contact import has_phone, phone_of, set_phone
from lindung_health.people.service import _contact_event, _phone, check_phone_room
from lindung_health.signin.schemas import CodeIssued, TokenOut
from lindung_health.signin.service import (
    BAD_CODE,
    SignInFailure,
    citizen_token,
    consume_code,
    issue_code,
)
from lindung_health.toolkit import Toolkit

log = logging.getLogger(__name__)


async def revoke_tokens(
    session: AsyncSession, person: Person, reason: RevocationReason, now: datetime
) -> int:
    """Refuse every token issued to ``person`` so far; returns the new generation."""
    person.token_generation += 1
    person.updated_at = now
    await session.flush()
    await outbox.add_events(
        session,
        [
            make_event(
                "person.tokens_revoked",
                TokensRevoked(
                    person_id=person.id,
                    generation=person.token_generation,
                    reason=reason,
                    revoked_at=now,
                ),
            )
        ],
    )
    log.info(
        "tokens revoked",
        extra={"person_id": str(person.id), "reason": reason.value},
    )
    return person.token_generation


async def _move_to_phone(
    session: AsyncSession,
    tk: Toolkit,
    person: Person,
    phone: str,
    by: str,
    reason: RevocationReason,
    now: datetime,
) -> None:
    """Bind ``person`` to the proven ``phone``: the old number told, the tokens revoked."""
    old_phone = phone_of(tk.protector, person)
    if phone != old_phone:
        await repository.lock_phone(session, tk.protector.phone_hash(phone))
        await check_phone_room(session, tk, phone)
    set_phone(tk.protector, person, phone)
    person.phone_verified_at = now
    await session.flush()
    events = []
    if phone != old_phone:
        events.append(
            make_event(
                "person.phone_changed",
                PersonPhoneChanged(
                    person_id=person.id,
                    old_phone_sealed=tk.sealer.seal(old_phone, "phone"),
                    language=Language(person.language),
                    changed_at=now,
                    by=by,  # type: ignore[arg-type]
                ),
            )
        )
    events.append(_contact_event(tk, person))
    await outbox.add_events(session, events)
    await revoke_tokens(session, person, reason, now)


async def start_phone_change(
    session: AsyncSession, tk: Toolkit, person: Person, raw_phone: str, now: datetime
) -> CodeIssued:
    phone = _phone(raw_phone)
    if has_phone(tk.protector, person, phone):
        raise Unprocessable("this is already your phone number", code="same-phone")
    await check_phone_room(session, tk, phone)
    return await issue_code(session, tk, person, phone=phone, now=now, purpose="phone-change")


async def confirm_phone_change(
    session: AsyncSession,
    tk: Toolkit,
    issuer: TokenIssuer,
    person: Person,
    request_id: uuid.UUID,
    code: str,
    now: datetime,
) -> TokenOut | SignInFailure:
    """Move the account to the phone the code was sent to; returns a fresh token (every
    earlier one is revoked) or the failure to render after committing the attempt."""
    row = await consume_code(
        session, tk, request_id, code, "phone-change", now, person_id=person.id
    )
    if row is None or row.new_phone_ciphertext is None:
        return SignInFailure(BAD_CODE)
    phone = tk.protector.unseal(row.new_phone_ciphertext, "phone")
    try:
        await _move_to_phone(
            session, tk, person, phone, "person", RevocationReason.PHONE_CHANGED, now
        )
    except Problem as problem:
        return SignInFailure(problem)
    log.info("phone changed", extra={"person_id": str(person.id)})
    return citizen_token(tk, issuer, person, now)


async def sign_out_everywhere(session: AsyncSession, person: Person, now: datetime) -> None:
    await revoke_tokens(session, person, RevocationReason.SIGNED_OUT, now)


async def start_recovery(
    session: AsyncSession,
    tk: Toolkit,
    officer_id: str,
    nik: str,
    raw_phone: str,
    purpose: str,
    now: datetime,
) -> CodeIssued:
    """An officer, having seen the holder's KTP, sends a code to the holder's phone."""
    if not nik.isdigit():
        raise Unprocessable("the NIK must be 16 digits", code="nik-format")
    person = await repository.by_nik_hash(session, tk.protector.hash(nik))
    if person is None:
        raise NotFound("no person is registered with this NIK")
    phone = _phone(raw_phone)
    if has_phone(tk.protector, person, phone) and person.phone_verified_at is not None:
        raise Conflict(
            "this NIK is already bound to this phone; the holder can sign in",
            code="already-bound",
        )
    issued = await issue_code(
        session, tk, person, phone=phone, now=now, purpose="recovery", officer_id=officer_id
    )
    await audit.append(
        session,
        officer_id=officer_id,
        person_id=person.id,
        action="person.recovery_started",
        purpose=purpose,
        at=now,
    )
    return issued


async def confirm_recovery(
    session: AsyncSession,
    tk: Toolkit,
    officer_id: str,
    request_id: uuid.UUID,
    code: str,
    purpose: str,
    now: datetime,
) -> uuid.UUID | SignInFailure:
    """The holder's code, entered by the officer who started the recovery: the NIK moves to
    the holder's phone and every token of the old binding stops working."""
    row = await consume_code(session, tk, request_id, code, "recovery", now, officer_id=officer_id)
    if row is None or row.new_phone_ciphertext is None:
        return SignInFailure(BAD_CODE)
    person = await repository.get(session, row.person_id)
    if person is None:
        return SignInFailure(BAD_CODE)
    phone = tk.protector.unseal(row.new_phone_ciphertext, "phone")
    try:
        await _move_to_phone(session, tk, person, phone, "officer", RevocationReason.RECOVERY, now)
    except Problem as problem:
        return SignInFailure(problem)
    await audit.append(
        session,
        officer_id=officer_id,
        person_id=person.id,
        action="person.recovered",
        purpose=purpose,
        at=now,
    )
    log.info("NIK recovered by an officer", extra={"person_id": str(person.id)})
    return person.id
