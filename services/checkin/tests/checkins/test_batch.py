"""Offline uploads: idempotent, validated per item, late visits not counted."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from lindung_checkin.api import build_app
from lindung_checkin.checkins.pending import replay_pending, verify_held
from lindung_checkin.trust.handlers import on_key_retired
from lindung_checkin.venues.repository import upsert_venue
from lindung_shared.events.catalogue import QrKeyRetired, make_event
from lindung_shared.testing import app_client
from prometheus_client import REGISTRY
from sqlalchemy import text

from ..conftest import QrSigner, publish_key, venue_snapshot
from ..helpers import present, scalar, visit, visits_at


def _item(signer, venue_id, client_id, ago: timedelta, **extra):
    return {
        "client_id": client_id,
        "qr": signer.sign(venue_id),
        "scanned_at": (datetime.now(UTC) - ago).isoformat(),
        **extra,
    }


async def upload(client, citizen, items):
    return await client.post("/v1/checkins/batch", json={"items": items}, headers=citizen.headers)


async def test_a_retried_batch_changes_nothing(client, signer, make_venue, green_citizen, sessions):
    venue = await make_venue()
    items = [
        _item(signer, venue.venue_id, "off-1", timedelta(hours=5)),
        _item(signer, venue.venue_id, "off-2", timedelta(hours=2)),
    ]
    first = await upload(client, green_citizen, items)
    assert first.status_code == 200, first.text
    answers = first.json()["items"]
    assert [a["status"] for a in answers] == ["recorded", "recorded"]
    assert [a["client_id"] for a in answers] == ["off-1", "off-2"]
    again = (await upload(client, green_citizen, items)).json()["items"]
    assert [a["visit_id"] for a in again] == [a["visit_id"] for a in answers]
    assert all(a["replayed"] for a in again)
    assert await visits_at(sessions, venue.venue_id) == 2


async def test_late_visits_are_kept_for_tracing_but_not_counted(
    client, signer, make_venue, green_citizen, sessions
):
    venue = await make_venue()
    answer = (
        await upload(
            client, green_citizen, [_item(signer, venue.venue_id, "late", timedelta(days=2))]
        )
    ).json()["items"][0]
    assert answer["status"] == "recorded"
    row = await visit(sessions, answer["visit_id"])
    assert row.counted is False
    assert row.source == "offline"
    assert row.client_id == "late"
    assert await present(sessions, venue.venue_id) == 0


async def test_a_fresh_offline_scan_counts_like_a_live_one(
    client, signer, make_venue, green_citizen, sessions
):
    venue = await make_venue()
    answer = (
        await upload(
            client, green_citizen, [_item(signer, venue.venue_id, "now", timedelta(seconds=30))]
        )
    ).json()["items"][0]
    assert answer["status"] == "admitted"
    assert (await visit(sessions, answer["visit_id"])).counted is True
    assert await present(sessions, venue.venue_id) == 1


async def test_times_in_the_future_or_before_the_look_back_are_rejected_per_item(
    client, signer, make_venue, green_citizen, sessions
):
    venue = await make_venue()
    items = [
        _item(signer, venue.venue_id, "future", -timedelta(hours=1)),
        _item(signer, venue.venue_id, "ancient", timedelta(days=15)),
        _item(signer, venue.venue_id, "fine", timedelta(hours=1)),
        {**_item(signer, venue.venue_id, "forged", timedelta(hours=1)), "qr": "LINDUNG1:a.b.c"},
    ]
    answers = {
        a["client_id"]: a for a in (await upload(client, green_citizen, items)).json()["items"]
    }
    assert answers["future"]["status"] == "rejected"
    assert answers["future"]["error"] == "scan-time-in-future"
    assert answers["ancient"]["error"] == "scan-time-before-look-back"
    assert answers["forged"]["error"] == "qr-malformed"
    assert answers["fine"]["status"] == "recorded"
    assert await visits_at(sessions, venue.venue_id) == 1


async def test_duplicates_inside_a_batch_reject_the_whole_batch(
    client, signer, make_venue, green_citizen, sessions
):
    venue = await make_venue()
    items = [
        _item(signer, venue.venue_id, "dup", timedelta(hours=3)),
        _item(signer, venue.venue_id, "dup", timedelta(hours=2)),
        _item(signer, venue.venue_id, "other", timedelta(hours=1)),
    ]
    response = await upload(client, green_citizen, items)
    assert response.status_code == 422
    assert response.json()["type"].endswith("/duplicate-client-ids")
    assert response.json()["client_ids"] == ["dup"]
    assert await visits_at(sessions, venue.venue_id) == 0


async def test_batch_body_validation(client, green_citizen):
    response = await upload(client, green_citizen, [{"client_id": "x", "qr": "y"}])
    assert response.status_code == 422
    assert "scanned_at" in response.text
    empty = await upload(client, green_citizen, [])
    assert empty.status_code == 422


async def test_a_visit_on_a_day_without_a_partition_creates_it(
    client, signer, make_venue, green_citizen, sessions
):
    # 10 days ago exists from the migration; drop it to simulate a missing partition.
    venue = await make_venue()
    day = (datetime.now(UTC) - timedelta(days=10)).date()
    name = f"visits_p{day:%Y%m%d}"
    count = await scalar(sessions, f"SELECT count(*) FROM {name}")
    if count:
        return  # other tests wrote there; nothing to prove safely
    async with sessions() as session, session.begin():
        await session.execute(text(f"DROP TABLE {name}"))
    answer = (
        await upload(
            client, green_citizen, [_item(signer, venue.venue_id, "gap", timedelta(days=10))]
        )
    ).json()["items"][0]
    assert answer["status"] == "recorded"
    assert await scalar(sessions, f"SELECT count(*) FROM {name}") == 1


async def test_a_visit_to_a_venue_not_known_yet_is_held_then_recorded(
    client, signer, green_citizen, sessions
):
    """The registry's event for the venue has not arrived when the phone uploads: the visit
    is held (same visit id on retry) and recorded, not counted, once the venue is known."""
    venue = venue_snapshot()
    items = [_item(signer, venue.venue_id, "early", timedelta(hours=3))]
    held = (await upload(client, green_citizen, items)).json()["items"][0]
    assert held["status"] == "pending", held
    assert held["reason"]["code"] == "pending"
    assert await visits_at(sessions, venue.venue_id) == 0
    again = (await upload(client, green_citizen, items)).json()["items"][0]
    assert (again["status"], again["visit_id"]) == ("pending", held["visit_id"])

    async with sessions() as session, session.begin():
        await upsert_venue(session, venue)
    row = await visit(sessions, held["visit_id"])
    assert (row.source, row.counted, row.client_id) == ("offline", False, "early")
    assert await present(sessions, venue.venue_id) == 0
    assert (
        await scalar(
            sessions,
            "SELECT count(*) FROM pending_offline_visits WHERE venue_id = :v",
            v=venue.venue_id,
        )
        == 0
    )
    # Queued for re-matching against cases matched before it arrived.
    assert (
        await scalar(
            sessions, "SELECT count(*) FROM late_visits WHERE visit_id = :v", v=row.visit_id
        )
        == 1
    )
    replayed = (await upload(client, green_citizen, items)).json()["items"][0]
    assert (replayed["status"], replayed["visit_id"], replayed["replayed"]) == (
        "recorded",
        held["visit_id"],
        True,
    )
    assert await visits_at(sessions, venue.venue_id) == 1


async def test_the_pending_job_records_what_the_venue_event_missed(
    client, signer, make_venue, green_citizen, sessions
):
    """A visit held while the venue's transaction was committing is picked up by the job;
    one whose venue never arrives expires after the look-back."""
    venue = await make_venue()
    never = uuid.uuid4()
    async with sessions() as session, session.begin():
        for venue_id, client_id, received in (
            (venue.venue_id, "slipped", "now()"),
            (never, "orphan", "now() - interval '15 days'"),
        ):
            await session.execute(
                text(
                    "INSERT INTO pending_offline_visits (person_id, client_id, visit_id, "
                    "venue_id, scanned_at, received_at) VALUES (:p, :c, gen_random_uuid(), :v, "
                    f"now() - interval '1 hour', {received})"
                ),
                {"p": green_citizen.person_id, "c": client_id, "v": venue_id},
            )
    assert await replay_pending(sessions, limit=1, max_age=timedelta(days=14)) == 1
    assert await visits_at(sessions, venue.venue_id) == 1
    assert (
        await scalar(
            sessions,
            "SELECT count(*) FROM pending_offline_visits WHERE person_id = :p",
            p=green_citizen.person_id,
        )
        == 0
    )


async def test_a_visit_signed_with_a_key_not_known_yet_is_held_then_verified(
    client, make_venue, green_citizen, sessions
):
    """The registry's qr_key.published has not arrived when the phone uploads: the item is
    held unverified (same visit id on retry), then verified and recorded once the key is
    known; a forgery naming that key id is dropped, never recorded."""
    venue = await make_venue()
    new_key = QrSigner(Ed25519PrivateKey.generate(), f"k-{uuid.uuid4().hex[:8]}")
    forger = QrSigner(Ed25519PrivateKey.generate(), new_key.key_id)
    items = [
        {
            "client_id": "new-key",
            "qr": new_key.sign(venue.venue_id),
            "scanned_at": (datetime.now(UTC) - timedelta(hours=2)).isoformat(),
        },
        {
            "client_id": "forged",
            "qr": forger.sign(venue.venue_id),
            "scanned_at": (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
        },
    ]
    held = (await upload(client, green_citizen, items)).json()["items"]
    assert [h["status"] for h in held] == ["pending", "pending"], held
    again = (await upload(client, green_citizen, items)).json()["items"]
    assert [a["visit_id"] for a in again] == [h["visit_id"] for h in held]
    # Nothing to verify while the key is unknown.
    assert await verify_held(sessions, limit=100, max_age=timedelta(days=14)) == (0, 0)

    await publish_key(sessions, new_key)
    verified, dropped = await verify_held(sessions, limit=1, max_age=timedelta(days=14))
    assert (verified, dropped) == (1, 1)
    assert await replay_pending(sessions, limit=100, max_age=timedelta(days=14)) == 1
    row = await visit(sessions, held[0]["visit_id"])
    assert (row.source, row.counted, row.client_id) == ("offline", False, "new-key")
    assert await visits_at(sessions, venue.venue_id) == 1
    assert (
        await scalar(
            sessions,
            "SELECT count(*) FROM unverified_offline_scans WHERE person_id = :p",
            p=green_citizen.person_id,
        )
        == 0
    )
    replayed = (await upload(client, green_citizen, items[:1])).json()["items"][0]
    assert (replayed["status"], replayed["visit_id"], replayed["replayed"]) == (
        "recorded",
        held[0]["visit_id"],
        True,
    )


async def test_a_retired_key_is_refused_not_held(client, make_venue, green_citizen, sessions):
    venue = await make_venue()
    old_key = QrSigner(Ed25519PrivateKey.generate(), f"k-{uuid.uuid4().hex[:8]}")
    await publish_key(sessions, old_key)
    async with sessions() as session, session.begin():
        await on_key_retired(
            session,
            make_event(
                "qr_key.retired",
                QrKeyRetired(key_id=old_key.key_id, retired_at=datetime.now(UTC)),
            ),
        )
    item = {
        "client_id": "retired",
        "qr": old_key.sign(venue.venue_id),
        "scanned_at": (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
    }
    answer = (await upload(client, green_citizen, [item])).json()["items"][0]
    assert (answer["status"], answer["error"]) == ("rejected", "qr-unknown-key")


async def test_an_offline_visit_carries_its_check_out(
    client, signer, make_venue, green_citizen, sessions
):
    """Checked in and out while offline: both are uploaded; the visit is recorded as ended
    then (or at its automatic check-out if that came first) and never counts as present."""
    venue = await make_venue()  # 240-minute maximum stay
    now = datetime.now(UTC)
    items = [
        _item(
            signer,
            venue.venue_id,
            "in-and-out",
            timedelta(hours=5),
            scanned_at=(now - timedelta(hours=5)).isoformat(),
            checked_out_at=(now - timedelta(hours=4)).isoformat(),
        ),
        _item(
            signer,
            venue.venue_id,
            "stayed-past-the-limit",
            timedelta(hours=10),
            scanned_at=(now - timedelta(hours=10)).isoformat(),
            checked_out_at=(now - timedelta(hours=1)).isoformat(),
        ),
        _item(
            signer,
            venue.venue_id,
            "just-now",
            timedelta(seconds=40),
            scanned_at=(now - timedelta(seconds=40)).isoformat(),
            checked_out_at=(now - timedelta(seconds=10)).isoformat(),
        ),
        _item(
            signer,
            venue.venue_id,
            "out-in-the-future",
            timedelta(hours=2),
            scanned_at=(now - timedelta(hours=2)).isoformat(),
            checked_out_at=(now + timedelta(hours=1)).isoformat(),
        ),
    ]
    answers = {
        a["client_id"]: a for a in (await upload(client, green_citizen, items)).json()["items"]
    }
    assert answers["out-in-the-future"]["error"] == "checkout-time-in-future"
    first = await visit(sessions, answers["in-and-out"]["visit_id"])
    assert (first.checked_out_at - first.checked_in_at, first.checkout_method) == (
        timedelta(hours=1),
        "explicit",
    )
    capped = await visit(sessions, answers["stayed-past-the-limit"]["visit_id"])
    assert (capped.checked_out_at, capped.checkout_method) == (capped.auto_checkout_at, "max_stay")
    fresh = await visit(sessions, answers["just-now"]["visit_id"])
    assert answers["just-now"]["status"] == "recorded"
    assert (fresh.counted, fresh.checkout_method) == (False, "explicit")
    assert await present(sessions, venue.venue_id) == 0
    # Re-matching sees the visit's real end.
    stay_end = await scalar(
        sessions, "SELECT stay_end FROM late_visits WHERE visit_id = :v", v=first.visit_id
    )
    assert stay_end == first.checked_out_at


async def test_a_held_visit_keeps_its_check_out(client, signer, green_citizen, sessions):
    venue = venue_snapshot()
    now = datetime.now(UTC)
    items = [
        _item(
            signer,
            venue.venue_id,
            "held-out",
            timedelta(hours=3),
            scanned_at=(now - timedelta(hours=3)).isoformat(),
            checked_out_at=(now - timedelta(hours=2)).isoformat(),
        )
    ]
    held = (await upload(client, green_citizen, items)).json()["items"][0]
    assert held["status"] == "pending"
    async with sessions() as session, session.begin():
        await upsert_venue(session, venue)
    row = await visit(sessions, held["visit_id"])
    assert (row.checked_out_at - row.checked_in_at, row.checkout_method) == (
        timedelta(hours=1),
        "explicit",
    )


async def test_a_check_out_before_the_check_in_is_refused(
    client, signer, make_venue, green_citizen
):
    venue = await make_venue()
    item = _item(
        signer,
        venue.venue_id,
        "backwards",
        timedelta(hours=1),
        checked_out_at=(datetime.now(UTC) - timedelta(hours=2)).isoformat(),
    )
    answer = await upload(client, green_citizen, [item])
    assert answer.status_code == 422
    assert answer.headers["content-type"] == "application/problem+json"


async def test_visits_from_before_the_venue_existed_are_refused(
    client, signer, make_venue, green_citizen, sessions
):
    """The registry says when the venue started receiving visitors; an offline visit scanned
    earlier than that (less 5 minutes of clock skew) cannot have happened."""
    venue = await make_venue(operating_since=datetime.now(UTC) - timedelta(hours=2))
    answers = (
        await upload(
            client,
            green_citizen,
            [
                _item(signer, venue.venue_id, "before", timedelta(hours=3)),
                _item(signer, venue.venue_id, "skew", timedelta(hours=2, minutes=4)),
                _item(signer, venue.venue_id, "after", timedelta(hours=1)),
            ],
        )
    ).json()["items"]
    assert [(a["client_id"], a["status"], a.get("error")) for a in answers] == [
        ("before", "rejected", "before-venue-existed"),
        ("skew", "recorded", None),
        ("after", "recorded", None),
    ]
    assert await visits_at(sessions, venue.venue_id) == 2
    # A live scan is not affected (its time is the server's).
    live = await client.post(
        "/v1/checkins", json={"qr": signer.sign(venue.venue_id)}, headers=green_citizen.headers
    )
    assert live.json()["outcome"] == "admitted", live.text


async def test_a_held_visit_older_than_its_venue_is_dropped_when_the_venue_arrives(
    client, signer, green_citizen, sessions
):
    venue = venue_snapshot(operating_since=datetime.now(UTC) - timedelta(hours=1))
    items = [_item(signer, venue.venue_id, "too-early", timedelta(hours=3))]
    held = (await upload(client, green_citizen, items)).json()["items"][0]
    assert held["status"] == "pending", held
    async with sessions() as session, session.begin():
        await upsert_venue(session, venue)
    assert await visits_at(sessions, venue.venue_id) == 0
    assert (
        await scalar(
            sessions,
            "SELECT count(*) FROM pending_offline_visits WHERE venue_id = :v",
            v=venue.venue_id,
        )
        == 0
    )
    retried = (await upload(client, green_citizen, items)).json()["items"][0]
    assert (retried["status"], retried["error"]) == ("rejected", "before-venue-existed")


def _unknown_key_items(venue_id, count: int, prefix: str = "junk") -> list[dict]:
    """Items signed with keys nobody announced (every one a made-up key id)."""
    items = []
    for i in range(count):
        made_up = QrSigner(Ed25519PrivateKey.generate(), f"made-up-{uuid.uuid4().hex[:12]}")
        items.append(
            {
                "client_id": f"{prefix}-{i}",
                "qr": made_up.sign(venue_id),
                "scanned_at": (datetime.now(UTC) - timedelta(minutes=30 + i)).isoformat(),
            }
        )
    return items


def _holds(outcome: str) -> float:
    return (
        REGISTRY.get_sample_value(
            "lindung_checkin_unverified_hold_attempts_total", {"outcome": outcome}
        )
        or 0.0
    )


async def test_holds_for_unknown_keys_are_bounded_per_person(
    client, db_settings, citizen_factory, set_colour, sessions
):
    """A person uploading items that name made-up key ids gets at most
    unverified_holds_per_person (20) held; the rest are rejected too-many-held, counted; a
    retry of the held ones answers as before; another person is not affected."""
    bound = db_settings.unverified_holds_per_person
    person = citizen_factory()
    await set_colour(person.person_id, "green")
    before = (_holds("held"), _holds("refused-person"))
    items = _unknown_key_items(uuid.uuid4(), bound + 15)
    answers = (await upload(client, person, items)).json()["items"]
    statuses = Counter((a["status"], a.get("error")) for a in answers)
    assert statuses == {("pending", None): bound, ("rejected", "too-many-held"): 15}, statuses
    assert (_holds("held") - before[0], _holds("refused-person") - before[1]) == (bound, 15)
    held = {a["client_id"]: a["visit_id"] for a in answers if a["status"] == "pending"}
    retry = [item for item in items if item["client_id"] in held]
    again = (await upload(client, person, retry)).json()["items"]
    assert {a["client_id"]: a["visit_id"] for a in again} == held
    assert (
        await scalar(
            sessions,
            "SELECT count(*) FROM unverified_offline_scans WHERE person_id = :p",
            p=person.person_id,
        )
        == bound
    )
    other = citizen_factory()
    await set_colour(other.person_id, "green")
    answer = (await upload(client, other, _unknown_key_items(uuid.uuid4(), 1))).json()["items"]
    assert answer[0]["status"] == "pending"


async def test_holds_for_unknown_keys_are_bounded_in_total(
    db_settings, signer, citizen_factory, set_colour, sessions
):
    """Beyond unverified_holds_total held in all, nobody's item is held."""
    held_now = await scalar(sessions, "SELECT count(*) FROM unverified_offline_scans")
    settings = db_settings.model_copy(update={"unverified_holds_total": held_now + 3})
    person = citizen_factory()
    await set_colour(person.person_id, "green")
    before = _holds("refused-total")
    async with app_client(build_app(settings)) as small:
        answers = (await upload(small, person, _unknown_key_items(uuid.uuid4(), 5))).json()
    statuses = [(a["status"], a.get("error")) for a in answers["items"]]
    # Held in scan-time order: the three oldest (the items are listed newest first).
    assert statuses == [("rejected", "too-many-held")] * 2 + [("pending", None)] * 3, statuses
    assert _holds("refused-total") - before == 2


async def test_holds_for_unknown_keys_expire_after_hours(
    client, citizen_factory, set_colour, sessions
):
    """The worker drops a hold older than unverified_hold_hours (6 by default), counted."""
    person = citizen_factory()
    await set_colour(person.person_id, "green")
    answers = (await upload(client, person, _unknown_key_items(uuid.uuid4(), 2))).json()
    assert [a["status"] for a in answers["items"]] == ["pending", "pending"]
    async with sessions() as session, session.begin():
        await session.execute(
            text(
                "UPDATE unverified_offline_scans SET received_at = now() - interval '7 hours' "
                "WHERE person_id = :p AND client_id = 'junk-0'"
            ),
            {"p": person.person_id},
        )
    expired_before = (
        REGISTRY.get_sample_value(
            "lindung_checkin_unverified_hold_results_total", {"result": "expired"}
        )
        or 0.0
    )
    _, dropped = await verify_held(sessions, limit=100, max_age=timedelta(hours=6))
    assert dropped >= 1
    left = await scalar(
        sessions,
        "SELECT string_agg(client_id, ',') FROM unverified_offline_scans WHERE person_id = :p",
        p=person.person_id,
    )
    assert left == "junk-1"
    expired_after = REGISTRY.get_sample_value(
        "lindung_checkin_unverified_hold_results_total", {"result": "expired"}
    )
    assert expired_after is not None and expired_after - expired_before >= 1
    assert REGISTRY.get_sample_value("lindung_checkin_unverified_held") is not None
