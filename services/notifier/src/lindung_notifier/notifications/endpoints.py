from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import StreamingResponse
from lindung_shared import audit
from lindung_shared.auth import AnyPrincipal, Principal, Role, require_roles
from lindung_shared.db import SessionDep
from lindung_shared.errors import Forbidden, NotFound, Unprocessable
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from lindung_notifier.metrics import STREAMS_OPEN
from lindung_notifier.notifications import repository
from lindung_notifier.notifications.hub import NotificationHub
from lindung_notifier.notifications.schemas import DeliveryStatus, Notification, NotificationPage
from lindung_notifier.recipients.identity import recipient_of

router = APIRouter(prefix="/v1/notifications", tags=["notifications"])

RecipientDep = Annotated[Principal, Depends(require_roles(Role.CITIZEN, Role.VENUE_MANAGER))]


def _notification(row: Row[Any]) -> Notification:
    return Notification(
        id=row.id,
        seq=row.seq,
        kind=row.kind,
        template_key=row.template_key,
        language=row.language,
        title=row.title,
        body=row.body,
        data=row.data,
        created_at=row.created_at,
        read_at=row.read_at,
    )


@router.get("", summary="My notifications, newest first", response_model=NotificationPage)
async def list_notifications(
    principal: RecipientDep,
    session: SessionDep,
    unread: Annotated[bool, Query(description="only those not yet read")] = False,
    before: Annotated[
        int | None, Query(ge=1, le=2**63 - 1, description="the next_before of the last page")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> NotificationPage:
    rows = await repository.list_inbox(
        session, recipient_of(principal), unread=unread, before=before, limit=limit
    )
    items = [_notification(r) for r in rows]
    return NotificationPage(items=items, next_before=items[-1].seq if len(items) == limit else None)


@router.get(
    "/stream",
    summary="Live stream of my new notifications (server-sent events)",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {"text/event-stream": {}},
            "description": "`event: notification` with the notification as JSON; `id:` is its "
            "seq (send it back as `Last-Event-ID` to resume); a comment every 15 s.",
        }
    },
)
async def stream_notifications(
    request: Request,
    principal: RecipientDep,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
) -> StreamingResponse:
    sessionmaker: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    hub: NotificationHub = request.app.state.notification_hub
    heartbeat: float = request.app.state.settings.sse_heartbeat_seconds
    recipient = recipient_of(principal)
    cursor: int | None = None
    if last_event_id is not None and re.fullmatch(r"[0-9]{1,18}", last_event_id.strip()):
        cursor = int(last_event_id.strip())  # 18 digits stay within bigint
    if cursor is None:
        async with sessionmaker() as session:
            cursor = await repository.latest_seq(session, recipient)
    wake = hub.subscribe(recipient)

    async def events(cursor: int) -> AsyncIterator[bytes]:
        floor = cursor
        sent: set[int] = set()
        STREAMS_OPEN.inc()
        try:
            yield b": connected\n\n"
            while True:
                wake.clear()
                async with sessionmaker() as session:
                    rows = await repository.since(
                        session, recipient, cursor, floor_seq=floor, already_sent=sorted(sent)
                    )
                fresh = [row for row in rows if row.seq not in sent]
                for row in fresh:
                    sent.add(row.seq)
                    cursor = max(cursor, row.seq)
                    data = orjson.dumps(_notification(row).model_dump(mode="json"))
                    yield b"id: %d\nevent: notification\ndata: %s\n\n" % (row.seq, data)
                if len(sent) > 2000:  # keep only what the look-back window can return again
                    sent = set(sorted(sent)[-1000:])
                    floor = max(floor, min(sent) - 1)
                if len(rows) >= 100:
                    continue
                try:
                    await asyncio.wait_for(wake.wait(), timeout=heartbeat)
                except TimeoutError:
                    yield b": heartbeat\n\n"
        finally:
            STREAMS_OPEN.dec()
            hub.unsubscribe(recipient, wake)

    return StreamingResponse(
        events(cursor),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.post(
    "/{notification_id}/read",
    summary="Mark one of my notifications read",
    response_model=Notification,
    responses={404: {"description": "no such notification of yours"}},
)
async def mark_read(
    notification_id: uuid.UUID, principal: RecipientDep, session: SessionDep
) -> Notification:
    row = await repository.mark_read(session, notification_id, recipient_of(principal))
    if row is None:
        raise NotFound("no such notification")
    return _notification(row)


@router.get(
    "/{notification_id}/deliveries",
    summary="Delivery status of a notification, per channel",
    description=(
        "Its recipient reads it freely. A health officer (or a service) reading someone "
        "else's gives a `reason`, and the read lands in the append-only audit log."
    ),
    response_model=list[DeliveryStatus],
    responses={
        404: {"description": "no such notification"},
        422: {"description": "an officer's read without a reason"},
    },
)
async def deliveries(
    notification_id: uuid.UUID,
    principal: AnyPrincipal,
    session: SessionDep,
    reason: Annotated[
        str | None,
        Query(
            min_length=3,
            max_length=500,
            description="why an officer reads another person's delivery status (audited)",
        ),
    ] = None,
) -> list[DeliveryStatus]:
    row = await repository.get(session, notification_id)
    own = row is not None and row.recipient == recipient_of(principal)
    privileged = principal.has(Role.HEALTH_OFFICER, Role.SERVICE)
    if row is None or (not privileged and not own):
        raise NotFound("no such notification")
    if not privileged and not principal.has(Role.CITIZEN, Role.VENUE_MANAGER):
        raise Forbidden("this action needs the recipient or a health officer")
    if not own:
        if reason is None or not reason.strip():
            raise Unprocessable(
                "reading another person's delivery status needs a reason",
                code="reason-required",
                extra={"field": "reason"},
            )
        await audit.record(
            session, principal, "notification.deliveries.read", f"notification:{row.id}", reason
        )
    rows = await repository.deliveries_of(session, notification_id)
    return [
        DeliveryStatus(
            id=r.id,
            channel=r.channel,
            device_id=r.device_id,
            status=r.status,
            attempts=r.attempts,
            next_attempt_at=r.next_attempt_at,
            last_error=r.last_error,
            gateway_message_id=r.gateway_message_id,
            created_at=r.created_at,
            updated_at=r.updated_at,
        )
        for r in rows
    ]
