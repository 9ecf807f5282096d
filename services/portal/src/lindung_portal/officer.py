"""The health officer's pages, within their jurisdiction: regencies (PPKM level and its
history, venues with live occupancy, case visits, contacts notified, the share of green
visits, crowding hot spots), a venue's page, NIK look-ups with their purpose and the audit
trail, and the screening rules. A regency or venue outside the jurisdiction is "not found"."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from lindung_portal import web_sessions as ws
from lindung_portal.accounts import Account
from lindung_portal.backend import Backend
from lindung_portal.manager import snapshot
from lindung_portal.web import (
    OptionalText,
    PageNotFound,
    Text,
    WebDep,
    backend_of,
    officer_only,
    parse_uuid,
    refuse_csrf,
    render,
    see_other,
)

router = APIRouter(include_in_schema=False)
REGENCY = re.compile(r"^\d{4}$")


def _covered(account: Account, regency_code: str) -> str:
    if not REGENCY.match(regency_code) or account.jurisdiction is None:
        raise PageNotFound
    if not account.jurisdiction.covers(regency_code):
        raise PageNotFound
    return regency_code


@router.get("/regencies")
async def regencies_page(request: Request, web: WebDep, code: str = "") -> Response:
    account = officer_only(web)
    if code:
        return see_other(f"/regencies/{_covered(account, code.strip())}")
    assert account.jurisdiction is not None
    backend = backend_of(request)
    codes: list[str] = []
    if account.jurisdiction.kind == "regencies":
        codes = list(account.jurisdiction.codes)
    else:
        zones = await backend.get(account, "venues", "/v1/zones", limit=500)
        if zones.ok:
            codes = [
                z["regency_code"]
                for z in zones.body["items"]
                if account.jurisdiction.covers(z["regency_code"])
            ]
    replies = await asyncio.gather(
        *(backend.get(account, "venues", f"/v1/zones/{c}") for c in codes)
    )
    zones_out = [r.body for r in replies if r.ok]
    return render(request, "regencies.html", web=web, zones=zones_out)


async def _regency(backend: Backend, account: Account, code: str) -> dict[str, Any]:
    zone, history, venues, summary = await asyncio.gather(
        backend.get(account, "venues", f"/v1/zones/{code}"),
        backend.get(account, "venues", f"/v1/zones/{code}/history", limit=20),
        backend.get(account, "venues", "/v1/venues", regency_code=code, status="active", limit=200),
        backend.get(account, "checkin", f"/v1/regencies/{code}/summary", days=14),
    )
    if not zone.ok:
        raise PageNotFound
    figures = {v["venue_id"]: v for v in summary.body["venues"]} if summary.ok else {}
    rows = []
    for venue in venues.body["items"] if venues.ok else []:
        f = figures.get(venue["id"], {})
        present = f.get("present", 0)
        rows.append(
            {
                "id": venue["id"],
                "name": venue["name"],
                "category": venue["category"],
                "capacity": venue["capacity"],
                "effective_capacity": venue["effective_capacity"],
                "present": present,
                "percent": round(100 * present / max(1, venue["effective_capacity"])),
                "case_visits": f.get("case_visits", 0),
                "contacts_notified": f.get("contacts_notified", 0),
            }
        )
    hot = sorted((r for r in rows if r["present"]), key=lambda r: -r["percent"])[:5]
    return {
        "zone": zone.body,
        "history": history.body["items"] if history.ok else [],
        "venues": rows,
        "hot": hot,
        "summary": summary.body if summary.ok else None,
    }


@router.get("/regencies/{code}")
async def regency_page(request: Request, web: WebDep, code: str) -> Response:
    account = officer_only(web)
    regency = await _regency(backend_of(request), account, _covered(account, code))
    return render(request, "regency.html", web=web, code=code, **regency)


@router.post("/regencies/{code}/level")
async def set_level(
    request: Request,
    web: WebDep,
    code: str,
    level: Text = "",
    note: OptionalText = "",
    csrf: OptionalText = "",
) -> Response:
    account = officer_only(web)
    if not ws.csrf_ok(request, csrf, web):
        return refuse_csrf(request, web)
    code = _covered(account, code)
    body: dict[str, Any] = {"level": int(level) if level.isdigit() else level}
    if note.strip():
        body["note"] = note.strip()[:500]
    reply = await backend_of(request).call(account, "PUT", "venues", f"/v1/zones/{code}", json=body)
    if not reply.ok:
        regency = await _regency(backend_of(request), account, code)
        return render(
            request,
            "regency.html",
            web=web,
            code=code,
            status=422,
            errors=[reply.detail],
            **regency,
        )
    return see_other(f"/regencies/{code}")


@router.get("/officer/venues/{venue_id}")
async def officer_venue(request: Request, web: WebDep, venue_id: str) -> Response:
    account = officer_only(web)
    backend = backend_of(request)
    reply = await backend.get(account, "venues", f"/v1/venues/{parse_uuid(venue_id)}")
    if not reply.ok:
        raise PageNotFound
    venue = reply.body
    _covered(account, venue["regency_code"])
    live = await snapshot(backend, account, venue)
    return render(request, "officer_venue.html", web=web, venue=venue, live=live)


@router.get("/lookup")
async def lookup_page(request: Request, web: WebDep) -> Response:
    account = officer_only(web)
    audit = await backend_of(request).get(
        account, "health", "/v1/audit", officer_id=account.subject, limit=50
    )
    return render(
        request,
        "lookup.html",
        web=web,
        result=None,
        form={},
        audit=audit.body["entries"] if audit.ok else [],
    )


@router.post("/lookup")
async def lookup(
    request: Request, web: WebDep, nik: Text = "", purpose: Text = "", csrf: OptionalText = ""
) -> Response:
    account = officer_only(web)
    if not ws.csrf_ok(request, csrf, web):
        return refuse_csrf(request, web)
    backend = backend_of(request)
    reply = await backend.call(
        account,
        "POST",
        "health",
        "/v1/people/lookup",
        json={"nik": nik.strip(), "purpose": purpose.strip()},
    )
    audit = await backend.get(account, "health", "/v1/audit", officer_id=account.subject, limit=50)
    return render(
        request,
        "lookup.html",
        web=web,
        status=200 if reply.ok else (404 if reply.status == 404 else 422),
        result=reply.body if reply.ok else None,
        errors=None if reply.ok else [reply.detail],
        form={"purpose": purpose},
        audit=audit.body["entries"] if audit.ok else [],
    )


@router.get("/rules")
async def rules_page(request: Request, web: WebDep) -> Response:
    account = officer_only(web)
    reply = await backend_of(request).get(account, "health", "/v1/rules")
    return render(request, "rules.html", web=web, rules=reply.body if reply.ok else [])
