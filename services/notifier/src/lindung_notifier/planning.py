"""What each event means for whom: event -> intents (pure, apart from the venue copy)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from lindung_shared.events import Envelope
from lindung_shared.events.catalogue import (
    CaseConfirmed,
    CaseRetracted,
    ExposureAdvised,
    ExposureAdvisoryWithdrawn,
    ExposureDetected,
    ExposureRetracted,
    PersonPhoneChanged,
    SignInCodeIssued,
    SignInCodeIssuedV2,
    StatusChanged,
    VenueCaseVisited,
    VenueCrowding,
    VenueSuspectVisited,
    ZoneVisitorAlert,
)
from lindung_shared.regions import timezone_of_regency
from lindung_shared.sealing import Sealer
from sqlalchemy.ext.asyncio import AsyncSession

from lindung_notifier.notifications.fanout import SMS, Intent
from lindung_notifier.recipients import repository as recipients
from lindung_notifier.recipients.identity import manager_recipient
from lindung_notifier.settings import Settings
from lindung_notifier.templates.render import HourBand, Term, TermList, zone

Planner = Callable[[AsyncSession, Envelope[Any]], Awaitable[list[Intent]]]


class Planners:
    """One planner per event type that notifies someone."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.sealer = Sealer(settings.contact_seal_key.get_secret_value())

    def by_type(self) -> dict[str, Planner]:
        return {
            "sign_in.code_issued": self.sign_in_code,
            "person.phone_changed": self.phone_changed,
            "status.changed": self.status_changed,
            "case.confirmed": self.case_confirmed,
            "case.retracted": self.case_retracted,
            "exposure.detected": self.exposure_detected,
            "exposure.retracted": self.exposure_retracted,
            "exposure.advised": self.exposure_advised,
            "exposure.advisory_withdrawn": self.advisory_withdrawn,
            "venue.case_visited": self.venue_case_visited,
            "venue.case_visit_retracted": self.venue_case_visit_retracted,
            "venue.suspect_visited": self.venue_suspect_visited,
            "venue.suspect_visit_withdrawn": self.venue_suspect_visit_withdrawn,
            "venue.crowding": self.venue_crowding,
            "zone.visitor_alert": self.zone_visitor_alert,
        }

    async def sign_in_code(self, _: AsyncSession, event: Envelope[Any]) -> list[Intent]:
        p: SignInCodeIssued | SignInCodeIssuedV2 = event.payload
        if isinstance(p, SignInCodeIssuedV2):
            phone, code = p.phone_sealed, self.sealer.unseal(p.code_sealed, "code")
        else:
            phone, code = self.sealer.seal(p.phone_e164, "phone"), p.code
        return [
            Intent(
                recipient=str(p.person_id),
                kind="sign_in_code",
                template_key="sign_in.code",
                params={"code": code, "expires": p.expires_at},
                source_event_id=event.id,
                timezone=self.settings.default_timezone,
                channels=(SMS,),
                in_inbox=False,
                language=p.language.value,
                phone=phone,  # sealed: opened only when the SMS is sent
                expires_at=p.expires_at,
            )
        ]

    async def phone_changed(self, _: AsyncSession, event: Envelope[Any]) -> list[Intent]:
        """An SMS to the old number only (the new one has just proven itself)."""
        p: PersonPhoneChanged = event.payload
        return [
            Intent(
                recipient=str(p.person_id),
                kind="phone_changed",
                template_key=f"phone.changed_by_{p.by}",
                params={"changed_at": p.changed_at},
                source_event_id=event.id,
                timezone=self.settings.default_timezone,
                channels=(SMS,),
                in_inbox=False,
                language=p.language.value,
                phone=p.old_phone_sealed,
            )
        ]

    async def status_changed(self, _: AsyncSession, event: Envelope[Any]) -> list[Intent]:
        p: StatusChanged = event.payload
        valid_until: Any = p.valid_until if p.valid_until is not None else "-"
        return [
            Intent(
                recipient=str(p.person_id),
                kind="status",
                template_key=f"status.{p.colour.value}",
                params={
                    "colour": Term(f"colour.{p.colour.value}"),
                    "reasons": TermList(tuple(f"reason.{r}" for r in p.reasons)),
                    "valid_until": valid_until,
                },
                data={
                    "colour": p.colour.value,
                    "previous_colour": p.previous_colour.value if p.previous_colour else None,
                    "reasons": list(p.reasons),
                    "valid_until": p.valid_until.isoformat() if p.valid_until else None,
                },
                source_event_id=event.id,
                timezone=self.settings.default_timezone,
            )
        ]

    async def case_confirmed(self, _: AsyncSession, event: Envelope[Any]) -> list[Intent]:
        p: CaseConfirmed = event.payload
        tz = self.settings.default_timezone
        sample_day = p.sample_taken_at.astimezone(zone(tz)).date()
        isolation_until = sample_day + timedelta(days=self.settings.isolation_days)
        return [
            Intent(
                recipient=str(p.person_id),
                kind="case",
                template_key="case.confirmed",
                params={"sample_taken": sample_day, "isolation_until": isolation_until},
                data={"case_ref": p.case_ref, "isolation_until": isolation_until.isoformat()},
                source_event_id=event.id,
                timezone=tz,
            )
        ]

    async def case_retracted(self, _: AsyncSession, event: Envelope[Any]) -> list[Intent]:
        p: CaseRetracted = event.payload
        return [
            Intent(
                recipient=str(p.person_id),
                kind="case_correction",
                template_key="case.retracted",
                params={},
                data={"case_ref": p.case_ref},
                source_event_id=event.id,
                timezone=self.settings.default_timezone,
            )
        ]

    async def exposure_detected(self, _: AsyncSession, event: Envelope[Any]) -> list[Intent]:
        """A close contact; when it upgrades an advisory (v2 ``advisory_id``), the message says
        the suspected case they were advised about is confirmed."""
        p: ExposureDetected = event.payload
        last_day = p.overlap_end.astimezone(zone(p.venue_timezone)).date()
        quarantine_until = last_day + timedelta(days=self.settings.quarantine_days)
        advisory_id = getattr(p, "advisory_id", None)
        data = {
            "exposure_id": str(p.exposure_id),
            "venue_id": str(p.venue_id),
            "overlap_start": p.overlap_start.isoformat(),
            "overlap_end": p.overlap_end.isoformat(),
            "quarantine_until": quarantine_until.isoformat(),
        }
        if advisory_id is not None:
            data["advisory_id"] = str(advisory_id)
        return [
            Intent(
                recipient=str(p.contact_person_id),
                kind="exposure",
                template_key="exposure.upgraded" if advisory_id else "exposure.detected",
                params={
                    "venue_name": p.venue_name,
                    "start": p.overlap_start,
                    "end": p.overlap_end,
                    "quarantine_until": quarantine_until,
                },
                data=data,
                source_event_id=event.id,
                timezone=p.venue_timezone,
            )
        ]

    async def exposure_retracted(self, session: AsyncSession, event: Envelope[Any]) -> list[Intent]:
        p: ExposureRetracted = event.payload
        venue = await recipients.get_venue(session, p.venue_id)
        return [
            Intent(
                recipient=str(p.contact_person_id),
                kind="exposure_correction",
                template_key="exposure.retracted",
                params={"venue_name": venue.name if venue else Term("venue.unknown")},
                data={"exposure_id": str(p.exposure_id), "venue_id": str(p.venue_id)},
                source_event_id=event.id,
                timezone=venue.timezone if venue else self.settings.default_timezone,
            )
        ]

    async def exposure_advised(self, _: AsyncSession, event: Envelope[Any]) -> list[Intent]:
        """A visitor of a suspected case: watch for symptoms, get tested (no quarantine)."""
        p: ExposureAdvised = event.payload
        return [
            Intent(
                recipient=str(p.contact_person_id),
                kind="exposure_advisory",
                template_key="exposure.advised",
                params={"venue_name": p.venue_name, "start": p.overlap_start, "end": p.overlap_end},
                data={
                    "advisory_id": str(p.advisory_id),
                    "venue_id": str(p.venue_id),
                    "overlap_start": p.overlap_start.isoformat(),
                    "overlap_end": p.overlap_end.isoformat(),
                },
                source_event_id=event.id,
                timezone=p.venue_timezone,
            )
        ]

    async def advisory_withdrawn(self, session: AsyncSession, event: Envelope[Any]) -> list[Intent]:
        p: ExposureAdvisoryWithdrawn = event.payload
        venue = await recipients.get_venue(session, p.venue_id)
        return [
            Intent(
                recipient=str(p.contact_person_id),
                kind="exposure_advisory_correction",
                template_key="exposure.advisory_withdrawn",
                params={"venue_name": venue.name if venue else Term("venue.unknown")},
                data={"advisory_id": str(p.advisory_id), "venue_id": str(p.venue_id)},
                source_event_id=event.id,
                timezone=venue.timezone if venue else self.settings.default_timezone,
            )
        ]

    async def venue_suspect_visited(self, _: AsyncSession, event: Envelope[Any]) -> list[Intent]:
        return [self._venue_case(event, "venue_suspect", "venue.suspect_visited")]

    async def venue_suspect_visit_withdrawn(
        self, _: AsyncSession, event: Envelope[Any]
    ) -> list[Intent]:
        return [
            self._venue_case(event, "venue_suspect_correction", "venue.suspect_visit_withdrawn")
        ]

    async def venue_case_visited(self, _: AsyncSession, event: Envelope[Any]) -> list[Intent]:
        return [self._venue_case(event, "venue_case", "venue.case_visited")]

    async def venue_case_visit_retracted(
        self, _: AsyncSession, event: Envelope[Any]
    ) -> list[Intent]:
        return [self._venue_case(event, "venue_case_correction", "venue.case_visit_retracted")]

    @staticmethod
    def _venue_case(event: Envelope[Any], kind: str, template_key: str) -> Intent:
        """The manager learns the day and a band of hours, never the exact stay nor the case
        reference: enough to clean and to warn staff, not to pick the person out on CCTV or
        follow them across venues."""
        # VenueCaseVisited or its subclass VenueCaseVisitRetracted; or the suspect's pair.
        p: VenueCaseVisited | VenueSuspectVisited = event.payload
        day, band = HourBand.around(p.visit_start, p.visit_end, p.venue_timezone)
        return Intent(
            recipient=manager_recipient(p.manager_id),
            kind=kind,
            template_key=template_key,
            params={"venue_name": p.venue_name, "day": day, "hours": band},
            data={
                "venue_id": str(p.venue_id),
                "day": day.isoformat(),
                "hour_band": [band.start_hour, band.end_hour],
            },
            source_event_id=event.id,
            timezone=p.venue_timezone,
        )

    async def venue_crowding(self, session: AsyncSession, event: Envelope[Any]) -> list[Intent]:
        p: VenueCrowding = event.payload
        venue = await recipients.get_venue(session, p.venue_id)
        level = "full" if p.present >= p.capacity else "near"
        return [
            Intent(
                recipient=manager_recipient(p.manager_id),
                kind="crowding",
                template_key=f"venue.crowding.{level}",
                params={
                    "venue_name": p.venue_name,
                    "present": p.present,
                    "capacity": p.capacity,
                    "percent": round(100 * p.present / p.capacity),
                    "at": p.at,
                },
                data={
                    "venue_id": str(p.venue_id),
                    "present": p.present,
                    "capacity": p.capacity,
                    "threshold_percent": p.threshold_percent,
                },
                source_event_id=event.id,
                timezone=venue.timezone if venue else self.settings.default_timezone,
            )
        ]

    async def zone_visitor_alert(self, _: AsyncSession, event: Envelope[Any]) -> list[Intent]:
        p: ZoneVisitorAlert = event.payload
        return [
            Intent(
                recipient=str(p.person_id),
                kind="zone",
                template_key=f"zone.{p.colour}",
                params={
                    "regency_code": p.regency_code,
                    "level": p.level,
                    "last_visit": p.last_visit_at,
                },
                data={"regency_code": p.regency_code, "level": p.level, "colour": p.colour},
                source_event_id=event.id,
                timezone=timezone_of_regency(p.regency_code),
            )
        ]
