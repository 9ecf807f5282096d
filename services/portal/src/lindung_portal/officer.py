"""The health officer's pages, within their jurisdiction: regencies (PPKM level and its
history, venues with live occupancy, case visits, contacts notified, the share of green
visits, crowding hot spots), a venue's page, NIK look-ups with their purpose and the audit
trail, and the screening rules. A regency or venue outside the jurisdiction is "not found"."""

from __future__ import annotations

import asyncio
import json
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


@router.get("/regencies")
async def regencies_page(request: Request, web: WebDep, code: str = "") -> Response:
    account = officer_only(web)
    if code:
        if not REGENCY.match(code.strip()):
            raise PageNotFound
        return see_other(f"/regencies/{code.strip()}")
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
    # The services decide what lies in the officer's jurisdiction: checkin refuses the
    # regency's statistics outside it (403), venue-registry lists only the venues inside.
    if not zone.ok or summary.status in (403, 404):
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
                "green_share": (
                    round(100 * f["green_visits"] / f["visits"]) if f.get("visits") else None
                ),
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
    if not REGENCY.match(code):
        raise PageNotFound
    regency = await _regency(backend_of(request), account, code)
    return render(request, "regency.html", web=web, code=code, **regency)


@router.post("/regencies/{code}/level")
async def set_level(
    request: Request,
    web: WebDep,
    code: str,
    level: Text = "",
    note: OptionalText = "",
    reason: OptionalText = "",
    csrf: OptionalText = "",
) -> Response:
    account = officer_only(web)
    if not ws.csrf_ok(request, csrf, web):
        return refuse_csrf(request, web)
    if not REGENCY.match(code):
        raise PageNotFound
    body: dict[str, Any] = {"level": int(level) if level.isdigit() else level}
    if note.strip():
        body["note"] = note.strip()[:500]
    body["reason"] = reason.strip()[:500]
    reply = await backend_of(request).call(account, "PUT", "venues", f"/v1/zones/{code}", json=body)
    if reply.status == 403:
        raise PageNotFound
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
    # venue-registry answers 403 outside the officer's jurisdiction: the page is "not found".
    reply = await backend.get(account, "venues", f"/v1/venues/{parse_uuid(venue_id)}")
    if not reply.ok:
        raise PageNotFound
    venue = reply.body
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


def _rules_context(rules: list[dict[str, Any]], form: dict[str, str]) -> dict[str, Any]:
    in_force = next((r for r in rules if r.get("in_force")), rules[0] if rules else None)
    parameters = json.dumps(in_force["parameters"] if in_force else {}, indent=2)
    return {"rules": rules, "form": {"parameters": parameters, **form}}


@router.get("/rules")
async def rules_page(request: Request, web: WebDep) -> Response:
    """The screening rules in force and every version (officers); the publish form (admins)."""
    account = officer_only(web)
    reply = await backend_of(request).get(account, "health", "/v1/rules")
    rules = reply.body if reply.ok else []
    return render(
        request, "rules.html", web=web, is_admin=account.is_admin, **_rules_context(rules, {})
    )


@router.post("/rules")
async def publish_rule(
    request: Request,
    web: WebDep,
    id: Text = "",
    valid_from: Text = "",
    valid_to: OptionalText = "",
    description: OptionalText = "",
    parameters: OptionalText = "",
    reason: OptionalText = "",
    csrf: OptionalText = "",
) -> Response:
    """Publish a rule version through health-records, which requires the admin role."""
    account = officer_only(web)
    if not ws.csrf_ok(request, csrf, web):
        return refuse_csrf(request, web)
    backend = backend_of(request)
    form = {
        "id": id.strip(),
        "valid_from": valid_from.strip(),
        "valid_to": valid_to.strip(),
        "description": description.strip(),
        "reason": reason.strip(),
    }
    errors: list[str] = []
    status = 422
    try:
        parsed = json.loads(parameters or "{}")
    except ValueError:
        parsed, errors = None, ["parameters: not valid JSON"]
    if not errors:
        body: dict[str, Any] = {
            "id": form["id"],
            "valid_from": _with_zone(form["valid_from"]),
            "description": form["description"][:500],
            "parameters": parsed,
            "reason": form["reason"][:500],
        }
        if form["valid_to"]:
            body["valid_to"] = _with_zone(form["valid_to"])
        reply = await backend.call(account, "POST", "health", "/v1/rules", json=body)
        if reply.ok:
            return see_other("/rules")
        errors, status = [_problem_text(reply)], 403 if reply.status == 403 else 422
    rules = await backend.get(account, "health", "/v1/rules")
    context = _rules_context(rules.body if rules.ok else [], form)
    context["form"]["parameters"] = parameters
    return render(
        request,
        "rules.html",
        web=web,
        status=status,
        errors=errors,
        is_admin=account.is_admin,
        **context,
    )


def _with_zone(value: str) -> str:
    """A ``datetime-local`` field's value read as Western Indonesian Time (WIB)."""
    if re.match(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$", value):
        return value + ("" if value.count(":") == 2 else ":00") + "+07:00"
    return value


def _problem_text(reply: Any) -> str:
    body = reply.body if isinstance(reply.body, dict) else {}
    fields = [f"{e.get('field')}: {e.get('message')}" for e in body.get("errors", [])]
    return "; ".join(fields) if fields else reply.detail
