from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from lindung_shared.auth import Principal, Role, require_roles
from lindung_shared.db import SessionDep

from lindung_notifier.recipients import repository
from lindung_notifier.recipients.identity import recipient_of
from lindung_notifier.recipients.schemas import Preferences

router = APIRouter(prefix="/v1/me", tags=["preferences"])

RecipientDep = Annotated[Principal, Depends(require_roles(Role.CITIZEN, Role.VENUE_MANAGER))]


@router.get("/preferences", summary="My notification preferences", response_model=Preferences)
async def get_preferences(principal: RecipientDep, session: SessionDep) -> Preferences:
    contact = await repository.get_contact(session, recipient_of(principal))
    return Preferences(language="en" if contact and contact.language == "en" else "id")


@router.put(
    "/preferences",
    summary="Set the language my notifications are written in",
    response_model=Preferences,
)
async def put_preferences(
    body: Preferences, principal: RecipientDep, session: SessionDep
) -> Preferences:
    language = await repository.set_language(session, recipient_of(principal), body.language)
    return Preferences(language="en" if language == "en" else "id")
