from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Response, status
from lindung_shared.auth import Principal, Role, require_roles
from lindung_shared.db import SessionDep
from lindung_shared.errors import NotFound

from lindung_notifier.devices import repository
from lindung_notifier.devices.schemas import Device, DeviceIn
from lindung_notifier.recipients.identity import recipient_of

router = APIRouter(prefix="/v1/devices", tags=["devices"])

RecipientDep = Annotated[Principal, Depends(require_roles(Role.CITIZEN, Role.VENUE_MANAGER))]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Register this app's push token",
    response_model=Device,
)
async def register_device(body: DeviceIn, principal: RecipientDep, session: SessionDep) -> Device:
    row = await repository.register(session, recipient_of(principal), body.platform, body.token)
    return Device(id=row.id, platform=row.platform, active=row.active, created_at=row.created_at)


@router.delete(
    "/{device_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Stop pushing to a device",
    responses={404: {"description": "no such device of yours"}},
)
async def delete_device(
    device_id: uuid.UUID, principal: RecipientDep, session: SessionDep
) -> Response:
    if not await repository.deactivate(session, device_id, recipient_of(principal)):
        raise NotFound("no such device")
    return Response(status_code=status.HTTP_204_NO_CONTENT)
