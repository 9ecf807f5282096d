"""The HTTP API of the development external systems (see the package docstring)."""

from __future__ import annotations

import logging
import secrets
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, Header, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from lindung_devsystems.registry import CivilRegistry, Resident, load_residents
from lindung_devsystems.settings import DevSystemsSettings
from lindung_devsystems.sinks import Recorded, Sink

log = logging.getLogger("lindung_devsystems")

PUSH_UNREGISTERED_PREFIX = "unregistered-"


class Problem(Exception):
    def __init__(self, status: int, title: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail = status, title, detail


def _problem(status: int, title: str, detail: str) -> JSONResponse:
    return JSONResponse(
        {"type": "about:blank", "title": title, "status": status, "detail": detail},
        status_code=status,
        media_type="application/problem+json",
    )


def _bearer(expected: SecretStr, authorization: str | None) -> None:
    scheme, _, value = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not secrets.compare_digest(
        value.encode(), expected.get_secret_value().encode()
    ):
        raise Problem(401, "Unauthorized", "a valid bearer credential is required")


class VerifyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    nik: str = Field(pattern=r"^\d{16}$")
    full_name: str = Field(min_length=1, max_length=200)
    birth_date: date


class ResidentOut(BaseModel):
    nik: str = Field(pattern=r"^\d{16}$")
    full_name: str = Field(min_length=1, max_length=200)
    birth_date: date
    sex: Literal["F", "M"]
    birth_place: str = Field(default="", max_length=100)
    regency_code: str = Field(pattern=r"^\d{4}$")


class VerifyAnswer(BaseModel):
    result: Literal["match", "mismatch", "not-found"]
    resident: ResidentOut | None = None


class SmsIn(BaseModel):
    to: str = Field(pattern=r"^\+\d{6,20}$")
    text: str = Field(min_length=1, max_length=1600)
    reference: str | None = Field(default=None, max_length=200)


class PushNotification(BaseModel):
    title: str = ""
    body: str = ""


class PushMessage(BaseModel):
    token: str = Field(min_length=1, max_length=4096)
    notification: PushNotification = Field(default_factory=PushNotification)
    data: dict[str, str] = Field(default_factory=dict)


class PushIn(BaseModel):
    message: PushMessage


def _resident_out(resident: Resident) -> ResidentOut:
    return ResidentOut(
        nik=resident.nik,
        full_name=resident.full_name,
        birth_date=resident.birth_date,
        sex=resident.sex,
        birth_place=resident.birth_place,
        regency_code=resident.regency_code,
    )


def _sms_item(recorded: Recorded) -> dict[str, Any]:
    return {
        "id": recorded.id,
        "to": recorded.to,
        "text": recorded.body["text"],
        "reference": recorded.body.get("reference"),
        "received_at": recorded.received_at.isoformat(),
    }


def _push_item(recorded: Recorded) -> dict[str, Any]:
    return {
        "id": recorded.id,
        "token": recorded.to,
        "notification": recorded.body.get("notification", {}),
        "data": recorded.body.get("data", {}),
        "received_at": recorded.received_at.isoformat(),
    }


def create_app(settings: DevSystemsSettings | None = None) -> FastAPI:
    settings = settings or DevSystemsSettings()
    registry = CivilRegistry(load_residents(settings.residents_csv))
    sms = Sink(settings.max_messages)
    push = Sink(settings.max_messages)
    app = FastAPI(
        title="Lindung development external systems",
        description="Civil registry, SMS gateway and push gateway stand-ins (never deployed).",
    )
    app.state.registry, app.state.sms, app.state.push = registry, sms, push

    @app.exception_handler(Problem)
    async def on_problem(_: Request, exc: Problem) -> JSONResponse:
        return _problem(exc.status, exc.title, exc.detail)

    @app.exception_handler(RequestValidationError)
    async def on_invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        fields = sorted({".".join(str(p) for p in e["loc"][1:]) for e in exc.errors()})
        return _problem(400, "Bad Request", f"invalid fields: {', '.join(fields)}")

    async def registry_auth(authorization: Annotated[str | None, Header()] = None) -> None:
        _bearer(settings.civil_registry_token, authorization)

    async def sms_auth(authorization: Annotated[str | None, Header()] = None) -> None:
        _bearer(settings.sms_token, authorization)

    async def push_auth(authorization: Annotated[str | None, Header()] = None) -> None:
        _bearer(settings.push_token, authorization)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, Any]:
        return {"status": "ok", "residents": len(registry.residents)}

    # -- civil registry --------------------------------------------------------------------

    @app.post(
        "/civil-registry/v1/verify",
        dependencies=[Depends(registry_auth)],
        summary="Does this NIK belong to a resident with this name and birth date?",
    )
    async def verify(body: VerifyRequest) -> VerifyAnswer:
        verdict, resident = registry.verify(body.nik, body.full_name, body.birth_date)
        return VerifyAnswer(
            result=verdict, resident=_resident_out(resident) if resident is not None else None
        )

    @app.post(
        "/civil-registry/v1/dev/residents",
        dependencies=[Depends(registry_auth)],
        summary="Enrol a fictitious resident (development only: tests and demos)",
    )
    async def enrol(body: ResidentOut, response: Response) -> ResidentOut:
        added = registry.enrol(Resident(**body.model_dump()))
        if added is None:
            raise Problem(409, "Conflict", "this NIK belongs to another resident")
        response.status_code = 201 if added else 200
        return body

    # -- SMS gateway -----------------------------------------------------------------------

    @app.post("/v1/sms", dependencies=[Depends(sms_auth)], summary="Send an SMS")
    async def send_sms(
        body: SmsIn, idempotency_key: Annotated[str | None, Header()] = None
    ) -> dict[str, str]:
        recorded, _ = sms.record(body.reference or idempotency_key, body.to, body.model_dump())
        return {"message_id": recorded.id}

    @app.get(
        "/v1/sms/messages",
        dependencies=[Depends(sms_auth)],
        summary="Messages received, newest first (optionally only those to one number)",
    )
    async def sms_messages(
        to: Annotated[str | None, Query(max_length=32)] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    ) -> dict[str, Any]:
        return {"items": [_sms_item(r) for r in sms.newest_first(to, limit)]}

    # -- push gateway (FCM HTTP v1 shape) --------------------------------------------------

    @app.post("/v1/messages:send", dependencies=[Depends(push_auth)], summary="Send a push")
    async def send_push(
        body: PushIn, idempotency_key: Annotated[str | None, Header()] = None
    ) -> Any:
        message = body.message
        if message.token.startswith(PUSH_UNREGISTERED_PREFIX):
            return JSONResponse(
                {"error": {"code": 404, "status": "NOT_FOUND", "details": ["UNREGISTERED"]}},
                status_code=404,
            )
        reference = message.data.get("delivery_id") or idempotency_key
        recorded, _ = push.record(reference, message.token, message.model_dump())
        return {"name": f"projects/lindung-dev/messages/{recorded.id}"}

    @app.get(
        "/v1/push/messages",
        dependencies=[Depends(push_auth)],
        summary="Push messages received, newest first (optionally only those to one token)",
    )
    async def push_messages(
        token: Annotated[str | None, Query(max_length=4096)] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    ) -> dict[str, Any]:
        return {"items": [_push_item(r) for r in push.newest_first(token, limit)]}

    return app
