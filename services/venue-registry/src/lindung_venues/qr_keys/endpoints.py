from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response
from lindung_shared import audit
from lindung_shared.auth import Principal, Role, require_roles
from lindung_shared.db import SessionDep

from lindung_venues.deps import SettingsDep, VaultDep
from lindung_venues.models import QrSigningKey
from lindung_venues.qr_keys import service
from lindung_venues.qr_keys.schemas import JwkSet, QrKeyAction, QrKeyOut, QrKeyRetirement

router = APIRouter(tags=["QR signing keys"])

#: Admins (and the operator's automation, role ``service``); health officers no longer.
KeyAdminDep = Annotated[Principal, Depends(require_roles(Role.ADMIN, Role.SERVICE))]
_KEY_ERRORS: dict[int | str, dict[str, object]] = {
    401: {"description": "no or invalid bearer token"},
    403: {"description": "needs the admin role"},
}
KeyIdPath = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")]


def _out(key: QrSigningKey) -> QrKeyOut:
    return QrKeyOut(
        key_id=key.key_id,
        status=key.status,  # type: ignore[arg-type]
        jwk=service.jwk_of(key),
        created_at=key.created_at,
        retiring_at=key.retiring_at,
        retired_at=key.retired_at,
    )


@router.get(
    "/.well-known/jwks.json",
    summary="Public keys that verify venue QR codes (public, cacheable)",
    response_model=JwkSet,
)
async def jwks(session: SessionDep, settings: SettingsDep, response: Response) -> JwkSet:
    keys = await service.trusted_keys(session)
    response.headers["Cache-Control"] = f"public, max-age={settings.jwks_max_age_seconds}"
    return JwkSet(keys=[service.jwk_of(k) for k in keys])


@router.get(
    "/v1/qr-keys",
    summary="Every QR signing key and its status (admins)",
    response_model=list[QrKeyOut],
    responses=_KEY_ERRORS,
)
async def list_keys(session: SessionDep, _: KeyAdminDep) -> list[QrKeyOut]:
    return [_out(k) for k in await service.all_keys(session)]


@router.post(
    "/v1/qr-keys/rotate",
    summary="Make a new active signing key; the old one keeps verifying (admins; audited)",
    description="The body's `reason` is optional here (a scheduled rotation needs none).",
    status_code=201,
    response_model=QrKeyOut,
    responses=_KEY_ERRORS,
)
async def rotate(
    session: SessionDep, vault: VaultDep, admin: KeyAdminDep, body: QrKeyAction | None = None
) -> QrKeyOut:
    key = await service.rotate(session, vault)
    reason = body.reason if body else "scheduled rotation"
    await audit.record(session, admin, "qr_key.rotate", f"qr_key:{key.key_id}", reason)
    return _out(key)


@router.post(
    "/v1/qr-keys/{key_id}/retire",
    summary="Retire a signing key: codes it signed stop verifying (admins; audited)",
    response_model=QrKeyRetirement,
    responses={
        **_KEY_ERRORS,
        404: {"description": "unknown key"},
        409: {"description": "already retired"},
    },
)
async def retire(
    key_id: KeyIdPath, body: QrKeyAction, session: SessionDep, vault: VaultDep, admin: KeyAdminDep
) -> QrKeyRetirement:
    retired, replacement = await service.retire(session, vault, key_id)
    await audit.record(
        session,
        admin,
        "qr_key.retire",
        f"qr_key:{key_id}",
        body.reason,
        {"replacement": replacement.key_id if replacement else None},
    )
    return QrKeyRetirement(
        retired=_out(retired), replacement=_out(replacement) if replacement else None
    )
