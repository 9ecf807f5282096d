"""The venue manager's pages: venues, entrances and posters, live occupancy and alerts."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse

from lindung_portal import web_sessions as ws
from lindung_portal.accounts import Account
from lindung_portal.backend import Backend, BackendUnavailable
from lindung_portal.web import (
    CATEGORIES,
    OptionalText,
    PageNotFound,
    SignInRequired,
    Text,
    WebDep,
    backend_of,
    manager_only,
    parse_uuid,
    refuse_csrf,
    render,
    see_other,
    settings_of,
)

router = APIRouter(include_in_schema=False)

COLOURS = ("green", "yellow", "red", "black")


@router.get("/venues")
async def venues_page(request: Request, web: WebDep) -> Response:
    account = manager_only(web)
    reply = await backend_of(request).get(account, "venues", "/v1/venues", limit=200)
    venues = reply.body["items"] if reply.ok else []
    return render(request, "venues.html", web=web, venues=venues)


@router.get("/venues/new")
async def new_venue_form(request: Request, web: WebDep) -> Response:
    manager_only(web)
    return render(request, "venue_new.html", web=web, categories=CATEGORIES, form={})


def _venue_body(form: dict[str, str]) -> dict[str, Any]:
    """The registry's VenueCreate from the form (the registry validates it in full)."""

    def number(key: str) -> float | str:
        try:
            return float(form.get(key, ""))
        except ValueError:
            return form.get(key, "")

    capacity: int | str
    try:
        capacity = int(form.get("capacity", ""))
    except ValueError:
        capacity = form.get("capacity", "")
    entrances = [e.strip() for e in form.get("entrances", "").splitlines() if e.strip()]
    body: dict[str, Any] = {
        "name": form.get("name", ""),
        "category": form.get("category", ""),
        "address": form.get("address", ""),
        "regency_code": form.get("regency_code", "").strip(),
        "latitude": number("latitude"),
        "longitude": number("longitude"),
        "capacity": capacity,
        "entrances": entrances or ["main"],
    }
    opens, closes = form.get("opens", "").strip(), form.get("closes", "").strip()
    if opens or closes:
        body["opening_hours"] = [{"weekday": d, "opens": opens, "closes": closes} for d in range(7)]
    return body


def _errors(reply_body: Any) -> list[str]:
    if isinstance(reply_body, dict):
        errors = reply_body.get("errors")
        if isinstance(errors, list) and errors:
            return [f"{e.get('field', '')}: {e.get('message', '')}" for e in errors][:10]
        return [str(reply_body.get("detail", ""))]
    return ["?"]


@router.post("/venues")
async def register_venue(request: Request, web: WebDep) -> Response:
    account = manager_only(web)
    raw = await request.form()
    form = {k: str(v)[:2000] for k, v in raw.items() if isinstance(v, str)}
    if not ws.csrf_ok(request, form.get("csrf"), web):
        return refuse_csrf(request, web)
    backend = backend_of(request)
    reply = await backend.call(account, "POST", "venues", "/v1/venues", json=_venue_body(form))
    if not reply.ok:
        return render(
            request,
            "venue_new.html",
            web=web,
            categories=CATEGORIES,
            form=form,
            status=422 if reply.status in (400, 422) else reply.status,
            errors=_errors(reply.body),
        )
    venue = reply.body
    # A signed QR code for every entrance, ready to print.
    for entrance in venue["entrances"]:
        await backend.call(
            account,
            "POST",
            "venues",
            f"/v1/venues/{venue['id']}/qr-codes",
            json={"entrance": entrance},
        )
    return see_other(f"/venues/{venue['id']}")


async def _venue(backend: Backend, account: Account, venue_id: str) -> dict[str, Any]:
    reply = await backend.get(account, "venues", f"/v1/venues/{parse_uuid(venue_id)}")
    if not reply.ok:
        raise PageNotFound
    venue: dict[str, Any] = reply.body
    return venue


async def snapshot(backend: Backend, account: Account, venue: dict[str, Any]) -> dict[str, Any]:
    """What the live parts of a venue page show: occupancy, today's figures, the level."""
    vid = venue["id"]
    occupancy, stats, zone = await asyncio.gather(
        backend.get(account, "checkin", f"/v1/venues/{vid}/occupancy"),
        backend.get(account, "checkin", f"/v1/venues/{vid}/stats"),
        backend.get(account, "venues", f"/v1/zones/{venue['regency_code']}"),
    )
    fresh = await backend.get(account, "venues", f"/v1/venues/{vid}")
    effective = fresh.body["effective_capacity"] if fresh.ok else venue["effective_capacity"]
    data: dict[str, Any] = {
        "present": None,
        "state": "unknown",
        "percent": None,
        "effective_capacity": effective,
        "level": zone.body["level"] if zone.ok else None,
        "admitted": {c: 0 for c in COLOURS},
        "refused": {c: 0 for c in COLOURS},
        "admitted_total": 0,
        "refused_total": 0,
    }
    if occupancy.ok:
        data.update(
            present=occupancy.body["present"],
            state=occupancy.body["state"],
            percent=occupancy.body["percent"],
        )
    if stats.ok:
        for key in ("admitted", "refused"):
            for colour, n in stats.body[key].items():
                data[key][colour] = n
        data["admitted_total"] = stats.body["admitted_total"]
        data["refused_total"] = stats.body["refused_total"]
    return data


async def alerts(backend: Backend, account: Account, after: int = 0) -> list[dict[str, Any]]:
    """The manager's alerts from the notifier's inbox, oldest first, after ``after``."""
    reply = await backend.get(account, "notifier", "/v1/notifications", limit=50)
    if not reply.ok:
        return []
    items = [
        {
            "seq": n["seq"],
            "title": n["title"],
            "body": n["body"],
            "kind": n.get("kind", ""),
            "venue_id": (n.get("data") or {}).get("venue_id"),
            "at": n["created_at"],
        }
        for n in reply.body["items"]
        if n["seq"] > after
    ]
    return sorted(items, key=lambda n: n["seq"])


@router.get("/venues/{venue_id}")
async def venue_page(request: Request, web: WebDep, venue_id: str) -> Response:
    account = manager_only(web)
    backend = backend_of(request)
    venue = await _venue(backend, account, venue_id)
    codes = await backend.get(account, "venues", f"/v1/venues/{venue['id']}/qr-codes")
    live = await snapshot(backend, account, venue)
    inbox = [a for a in await alerts(backend, account) if a["venue_id"] in (None, venue["id"])]
    return render(
        request,
        "venue.html",
        web=web,
        venue=venue,
        codes=codes.body if codes.ok else [],
        live=live,
        alerts=list(reversed(inbox)),
        colours=COLOURS,
        last_seq=max((a["seq"] for a in inbox), default=0),
    )


@router.get("/venues/{venue_id}/codes/{qr_id}/poster.{fmt}")
async def poster(request: Request, web: WebDep, venue_id: str, qr_id: str, fmt: str) -> Response:
    account = manager_only(web)
    if fmt not in ("png", "pdf", "svg"):
        raise PageNotFound
    reply = await backend_of(request).get(
        account,
        "venues",
        f"/v1/venues/{parse_uuid(venue_id)}/qr-codes/{parse_uuid(qr_id)}/poster.{fmt}",
    )
    if not reply.ok:
        raise PageNotFound
    return Response(
        reply.content,
        media_type=reply.content_type,
        headers={
            "Content-Disposition": f'attachment; filename="lindung-poster-{qr_id}.{fmt}"',
            "Cache-Control": "private, no-store",
        },
    )


@router.post("/venues/{venue_id}/codes/{qr_id}/revoke")
async def revoke(
    request: Request, web: WebDep, venue_id: str, qr_id: str, csrf: OptionalText = ""
) -> Response:
    account = manager_only(web)
    if not ws.csrf_ok(request, csrf, web):
        return refuse_csrf(request, web)
    vid, qid = parse_uuid(venue_id), parse_uuid(qr_id)
    reply = await backend_of(request).call(
        account, "DELETE", "venues", f"/v1/venues/{vid}/qr-codes/{qid}"
    )
    if reply.status == 404 or reply.status == 403:
        raise PageNotFound
    return see_other(f"/venues/{vid}")


@router.post("/venues/{venue_id}/codes")
async def issue_code(
    request: Request, web: WebDep, venue_id: str, entrance: Text = "", csrf: OptionalText = ""
) -> Response:
    account = manager_only(web)
    if not ws.csrf_ok(request, csrf, web):
        return refuse_csrf(request, web)
    vid = parse_uuid(venue_id)
    reply = await backend_of(request).call(
        account, "POST", "venues", f"/v1/venues/{vid}/qr-codes", json={"entrance": entrance}
    )
    if reply.status in (403, 404):
        raise PageNotFound
    return see_other(f"/venues/{vid}")


def _sse(event: str, data: Any) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


@router.get("/venues/{venue_id}/live")
async def venue_live(request: Request, venue_id: str, after: int = 0) -> Response:
    """Server-sent events: ``occupancy`` (the figures, whenever they change) and ``alert``
    (each new alert of this venue). The portal polls the services every few seconds; one
    stream per open page."""
    # The session is read in a short transaction of its own: none is held while streaming.
    async with request.app.state.sessionmaker() as db, db.begin():
        web = await ws.current(db, request)
    if web is None or web.second_factor_due:
        raise SignInRequired
    account = manager_only(web)
    backend = backend_of(request)
    venue = await _venue(backend, account, venue_id)
    settings = settings_of(request)

    async def stream() -> AsyncIterator[bytes]:
        last: dict[str, Any] | None = None
        level: int | None = None
        seq = after
        idle = 0.0
        yield b"retry: 3000\n\n"
        while not await request.is_disconnected():
            try:
                data = await snapshot(backend, account, venue)
                fresh = await alerts(backend, account, seq)
            except BackendUnavailable:
                data, fresh = None, []
            if data is not None and data != last:
                if level is not None and data["level"] != level and data["level"] is not None:
                    yield _sse("alert", {"kind": "zone.level", "title": "", "level": data["level"]})
                level = data["level"] if data["level"] is not None else level
                last = data
                idle = 0.0
                yield _sse("occupancy", data)
            for alert in fresh:
                seq = max(seq, alert["seq"])
                if alert["venue_id"] in (None, venue["id"]):
                    idle = 0.0
                    yield _sse("alert", alert)
            if idle >= settings.live_heartbeat_seconds:
                idle = 0.0
                yield b": heartbeat\n\n"
            await asyncio.sleep(settings.live_poll_seconds)
            idle += settings.live_poll_seconds

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
