"""The door's decision in pure Python: what ``checkin_scan`` (``sql/checkin_scan.sql``) and
``checkin_checkout`` (``sql/checkin_checkout.sql``) decide, one scan at a time.

The database functions are the implementation (one statement per scan, exact under any number
of API processes); this module is the same rules written to be read, and the property test
``tests/checkins/test_rules_property.py`` runs random scan sequences through both on real
PostgreSQL and compares every answer and the state left behind. In the order they apply:

1. **Idempotency.** A scan whose ``(person, client_id)`` was seen before answers the stored
   answer (``replayed``) and changes nothing.
2. **Venue.** Unknown venue: ``unknown_venue`` (an offline item with a client id is held as
   ``pending`` instead); closed for good: ``venue_closed``; a revoked code: ``qr_revoked``;
   an offline visit scanned before the venue's ``operating_since`` (less
   :data:`OPERATING_SINCE_SKEW`): ``before_venue_existed``.
3. **Colour.** The local status; none, or past its ``valid_until``: red.
4. **Automatic check-out time.** Check-in + the venue's maximum stay, or the closing time of
   the opening window the scan falls in when that is earlier (``closing``).
5. **Late offline visits** (not live): recorded for tracing, uncounted (with the check-out
   uploaded with them, if any: then, or the automatic check-out if that came first);
   nothing else changes.
6. **Live scans.** The person's open visit is closed first (at its automatic check-out time
   when that has passed, else now: ``rescan`` at the same venue, ``elsewhere`` at another) and
   its place released. Scanning the venue you are in (before its automatic check-out) is the
   way out: ``checked_out``. Otherwise: outside the opening hours ``refused``
   (``outside_opening_hours``); the sector rule for (category, colour) (absent: black refused,
   others admitted) may refuse (``colour_<c>``); a full venue refuses (``venue_full``); else
   ``admitted`` (``admitted_with_check`` when the rule says so), counted, the open visit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

Decision = str  # 'admit' | 'admit_with_check' | 'refuse'

#: The phone's clock against the registry's: an offline scan this much before the venue's
#: ``operating_since`` is still accepted (``checkin_scan`` has the same interval).
OPERATING_SINCE_SKEW = timedelta(minutes=5)

#: Outcomes that are decisions (kept for a retry); the others change nothing and are not kept.
_DECIDED = frozenset({"admitted", "refused", "checked_out", "recorded"})


def visit_end(
    checked_in_at: datetime, auto_checkout_at: datetime, auto_method: str, at: datetime, method: str
) -> tuple[datetime, str]:
    """How every visit ends (``checkin_visit_end`` in SQL): at its automatic check-out, with
    that method, when that came first; else at ``at`` (never before the check-in)."""
    if auto_checkout_at <= at:
        return auto_checkout_at, auto_method
    return max(at, checked_in_at), method


@dataclass(frozen=True)
class Hours:
    """One opening window: ``weekday`` 0 = Monday; closing at or before opening means the
    window ends the next day."""

    weekday: int
    opens: time
    closes: time


@dataclass(frozen=True)
class Venue:
    venue_id: str
    category: str
    capacity: int
    max_stay: timedelta
    timezone: str = "Asia/Jakarta"
    hours: Sequence[Hours] = ()
    closed: bool = False
    #: When it started receiving visitors (None: not announced, no check).
    operating_since: datetime | None = None


@dataclass(frozen=True)
class Status:
    colour: str
    valid_until: datetime | None = None


@dataclass
class OpenVisit:
    visit_id: str
    venue_id: str
    checked_in_at: datetime
    auto_checkout_at: datetime
    auto_checkout_method: str
    counted: bool = True


@dataclass(frozen=True)
class Scan:
    person_id: str
    venue_id: str
    at: datetime
    visit_id: str
    live: bool = True
    client_id: str | None = None
    offline: bool = False
    qr_id: str | None = None
    #: A late offline visit's check-out, uploaded with it.
    checked_out_at: datetime | None = None


@dataclass(frozen=True)
class Answer:
    outcome: str
    visit_id: str | None = None
    reason: str | None = None
    colour: str | None = None
    present: int | None = None
    checked_in_at: datetime | None = None
    auto_checkout_at: datetime | None = None
    replayed: bool = False
    closed_visit_id: str | None = None


@dataclass
class Door:
    """Everything the decision reads and writes."""

    venues: dict[str, Venue]
    rules: Mapping[tuple[str, str], Decision]
    statuses: dict[str, Status] = field(default_factory=dict)
    revoked: set[str] = field(default_factory=set)
    present: dict[str, int] = field(default_factory=dict)
    open_visits: dict[str, OpenVisit] = field(default_factory=dict)
    #: visit id -> (checked_out_at, method) of every visit closed so far.
    closed: dict[str, tuple[datetime, str]] = field(default_factory=dict)
    #: visit id -> (person, venue, checked in, automatic check-out, counted) of every visit.
    visits: dict[str, tuple[str, str, datetime, datetime, bool]] = field(default_factory=dict)
    #: (person, client id) -> the first answer and its venue (replayed for a retry).
    answers: dict[tuple[str, str], tuple[Answer, str]] = field(default_factory=dict)

    def scan(self, s: Scan) -> Answer:
        if s.client_id is not None and (s.person_id, s.client_id) in self.answers:
            return self._replay(*self.answers[(s.person_id, s.client_id)])
        answer = self._decide(s)
        if s.client_id is not None and answer.outcome in _DECIDED:
            self.answers[(s.person_id, s.client_id)] = (answer, s.venue_id)
        return answer

    def _replay(self, first: Answer, venue_id: str) -> Answer:
        """The first answer again, with the venue's present count of now."""
        venue_present = self.present.get(venue_id, 0) if venue_id in self.venues else None
        auto = None
        if first.visit_id is not None and first.visit_id in self.visits:
            auto = self.visits[first.visit_id][3]
        return Answer(
            outcome=first.outcome,
            visit_id=first.visit_id,
            reason=first.reason,
            colour=first.colour,
            present=venue_present,
            checked_in_at=first.checked_in_at,
            auto_checkout_at=auto,
            replayed=True,
        )

    def colour_of(self, person_id: str, at: datetime) -> str:
        status = self.statuses.get(person_id)
        if status is None or (status.valid_until is not None and status.valid_until <= at):
            return "red"
        return status.colour

    def _decide(self, s: Scan) -> Answer:
        venue = self.venues.get(s.venue_id)
        if venue is None:
            return Answer("pending" if s.offline and s.client_id else "unknown_venue")
        if venue.closed:
            return Answer("venue_closed")
        if (
            s.offline
            and venue.operating_since is not None
            and s.at < venue.operating_since - OPERATING_SINCE_SKEW
        ):
            return Answer("before_venue_existed")
        if s.qr_id is not None and s.qr_id in self.revoked:
            return Answer("qr_revoked")
        colour = self.colour_of(s.person_id, s.at)
        close_at = open_until(venue.hours, venue.timezone, s.at)
        if close_at is None or close_at > s.at + venue.max_stay:
            auto_at, auto_method = s.at + venue.max_stay, "max_stay"
        else:
            auto_at, auto_method = close_at, "closing"

        if not s.live:
            self.visits[s.visit_id] = (s.person_id, s.venue_id, s.at, auto_at, False)
            if s.checked_out_at is not None:
                # Uploaded with its check-out: ended then, or at the automatic check-out.
                self.closed[s.visit_id] = visit_end(
                    s.at, auto_at, auto_method, s.checked_out_at, "explicit"
                )
            return Answer(
                "recorded",
                visit_id=s.visit_id,
                colour=colour,
                present=self.present.get(s.venue_id, 0),
                checked_in_at=s.at,
                auto_checkout_at=auto_at,
            )

        current = self.open_visits.pop(s.person_id, None)
        if current is not None:
            self.close(current, s.at, "rescan" if current.venue_id == s.venue_id else "elsewhere")
        if (
            current is not None
            and current.venue_id == s.venue_id
            and current.auto_checkout_at > s.at
        ):
            return Answer(
                "checked_out",
                visit_id=current.visit_id,
                colour=colour,
                present=self.present.get(s.venue_id, 0),
                checked_in_at=current.checked_in_at,
                closed_visit_id=current.visit_id,
            )
        closed_id = current.visit_id if current is not None else None
        if close_at is None:
            return self._refused(s, colour, "outside_opening_hours", closed_id)
        decision = self.rules.get((venue.category, colour))
        if decision is None:
            decision = "refuse" if colour == "black" else "admit"
        if decision == "refuse":
            return self._refused(s, colour, f"colour_{colour}", closed_id)
        if self.present.get(s.venue_id, 0) >= venue.capacity:
            return self._refused(s, colour, "venue_full", closed_id)
        self.present[s.venue_id] = self.present.get(s.venue_id, 0) + 1
        self.visits[s.visit_id] = (s.person_id, s.venue_id, s.at, auto_at, True)
        self.open_visits[s.person_id] = OpenVisit(
            s.visit_id, s.venue_id, s.at, auto_at, auto_method, counted=True
        )
        return Answer(
            "admitted",
            visit_id=s.visit_id,
            reason="admitted_with_check" if decision == "admit_with_check" else "admitted",
            colour=colour,
            present=self.present[s.venue_id],
            checked_in_at=s.at,
            auto_checkout_at=auto_at,
            closed_visit_id=closed_id,
        )

    def _refused(self, s: Scan, colour: str, reason: str, closed_id: str | None) -> Answer:
        return Answer(
            "refused",
            reason=reason,
            colour=colour,
            present=self.present.get(s.venue_id, 0),
            checked_in_at=s.at,
            closed_visit_id=closed_id,
        )

    def close(self, visit: OpenVisit, at: datetime, method: str) -> None:
        """Close a visit and release its place: at its automatic check-out time (with that
        method) when it has passed, else at ``at`` (never before the check-in)."""
        self.closed[visit.visit_id] = visit_end(
            visit.checked_in_at, visit.auto_checkout_at, visit.auto_checkout_method, at, method
        )
        if visit.counted:
            self.present[visit.venue_id] = max(self.present.get(visit.venue_id, 0) - 1, 0)

    def check_out(
        self, person_id: str, visit_id: str, at: datetime
    ) -> tuple[datetime | None, str | None] | None:
        """The explicit check-out: the visit's (checked_out_at, method), (None, None) when it
        was not open (an uncounted late visit), None when it is not the person's."""
        current = self.open_visits.get(person_id)
        if current is not None and current.visit_id == visit_id:
            del self.open_visits[person_id]
            self.close(current, at, "explicit")
        visit = self.visits.get(visit_id)
        if visit is None or visit[0] != person_id:
            return None
        closed = self.closed.get(visit_id)
        return (None, None) if closed is None else closed


def open_until(hours: Sequence[Hours], timezone: str, at: datetime) -> datetime | None:
    """When the opening window that ``at`` falls in closes; ``datetime.max`` (open around the
    clock) when the venue has no hours; None when ``at`` is outside every window. A window
    that started the day before and runs past midnight counts."""
    if not hours:
        return datetime.max.replace(tzinfo=at.tzinfo)
    tz = ZoneInfo(timezone)
    local_day = at.astimezone(tz).date()
    ends = []
    for offset in (-1, 0):
        day = local_day + timedelta(days=offset)
        for h in hours:
            if h.weekday != day.weekday():
                continue
            open_at = _local(day, h.opens, tz)
            close_day = day + timedelta(days=1) if h.closes <= h.opens else day
            close_at = _local(close_day, h.closes, tz)
            if open_at <= at < close_at:
                ends.append(close_at)
    return max(ends) if ends else None


def _local(day: date, at: time, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, at, tz)
