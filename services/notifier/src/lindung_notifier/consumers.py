"""The worker's consumer: thin handlers that decode and call the fan-out or the copies.

Notifying events go through :class:`BatchingConsumer`: the intents of a whole Kafka batch
are fanned out with one statement per table (the fast path a 10,000-contact case needs).
If anything in a batch fails, the shared runner retries the batch one event at a time with
the per-event handlers below, so a bad event is dead-lettered alone.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from lindung_shared.events import Envelope
from lindung_shared.events.catalogue import (
    PersonContactChanged,
    PersonContactChangedV2,
    VenueSnapshot,
)
from lindung_shared.kafka.consumer import EventConsumer, Handler, PermanentEventError
from lindung_shared.sealing import Sealer
from sqlalchemy.ext.asyncio import AsyncSession

from lindung_notifier.notifications.fanout import Intent, fan_out
from lindung_notifier.planning import Planner, Planners
from lindung_notifier.recipients import repository as recipients
from lindung_notifier.settings import Settings
from lindung_notifier.templates.render import UnknownTemplate

log = logging.getLogger(__name__)

TOPICS = (
    "lindung.people",
    "lindung.sign-in-codes",
    "lindung.health-status",
    "lindung.cases",
    "lindung.exposures",
    "lindung.venue-alerts",
    "lindung.occupancy",
    "lindung.zone-alerts",
    "lindung.venues",
)


class UnknownTemplateKey(PermanentEventError):
    reason = "unknown-template"


async def deliver(session: AsyncSession, intents: list[Intent]) -> None:
    try:
        await fan_out(session, intents)
    except UnknownTemplate as exc:
        log.warning("event names an unknown template: %s", exc)
        raise UnknownTemplateKey(str(exc)) from exc


def contact_handler(sealer: Sealer) -> Handler:
    """Keep a person's phone, sealed (a v1 event's clear phone is sealed on arrival)."""

    async def on_contact_changed(session: AsyncSession, event: Envelope[Any]) -> None:
        p: PersonContactChanged | PersonContactChangedV2 = event.payload
        if isinstance(p, PersonContactChangedV2):
            sealed = p.phone_sealed
        else:
            sealed = sealer.seal(p.phone_e164, "phone")
        await recipients.upsert_contact(
            session, str(p.person_id), sealed, p.language.value, event.occurred_at
        )

    return on_contact_changed


async def on_venue(session: AsyncSession, event: Envelope[Any]) -> None:
    p: VenueSnapshot = event.payload
    await recipients.upsert_venue(
        session, p.venue_id, p.name, p.manager_id, p.timezone, p.updated_at
    )


def handlers(planners: Mapping[str, Planner], sealer: Sealer) -> dict[str, Handler]:
    """Per-event handlers (the isolated path, and the contract for each type)."""

    def notifying(planner: Planner) -> Handler:
        async def handle(session: AsyncSession, event: Envelope[Any]) -> None:
            await deliver(session, await planner(session, event))

        return handle

    found: dict[str, Handler] = {t: notifying(p) for t, p in planners.items()}
    found["person.contact_changed"] = contact_handler(sealer)
    found["venue.registered"] = on_venue
    found["venue.updated"] = on_venue
    return found


class BatchingConsumer(EventConsumer):
    """The shared runner, with the whole-batch fast path for notifying events."""

    def __init__(self, *, planners: Mapping[str, Planner], sealer: Sealer, **kwargs: Any) -> None:
        super().__init__(handlers=handlers(planners, sealer), **kwargs)
        self.planners = dict(planners)

    async def handle_batch(self, session: AsyncSession, events: list[Envelope[Any]]) -> None:
        pending: list[Intent] = []
        for event in events:
            planner = self.planners.get(event.type)
            if planner is not None:
                pending.extend(await planner(session, event))
            else:
                # State changes apply in order: intents planned so far go out first.
                await deliver(session, pending)
                pending = []
                await self.handlers[event.type](session, event)
        await deliver(session, pending)


def build_consumer(settings: Settings, **kwargs: Any) -> BatchingConsumer:
    return BatchingConsumer(
        service=settings.service_name,
        group_id=kwargs.pop("group_id", settings.consumer_group),
        topics=TOPICS,
        planners=Planners(settings).by_type(),
        sealer=Sealer(settings.contact_seal_key.get_secret_value()),
        bootstrap_servers=settings.kafka_bootstrap_servers,
        batch_size=kwargs.pop("batch_size", settings.consumer_batch_size),
        **kwargs,
    )
