from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response
from lindung_shared.auth import Principal, Role, require_roles
from lindung_shared.db import SessionDep

from lindung_venues.deps import SettingsDep, VaultDep
from lindung_venues.models import QrSigningKey
from lindung_venues.qr_keys import service
from lindung_venues.qr_keys.schemas import JwkSet, QrKeyOut, QrKeyRetirement

router = APIRouter(tags=["QR signing keys"])

KeyAdminDep = Annotated[Principal, Depends(require_roles(Role.HEALTH_OFFICER, Role.SERVICE))]
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
    "/v1/qr-keys", summary="Every QR signing key and its status", response_model=list[QrKeyOut]
)
async def list_keys(session: SessionDep, _: KeyAdminDep) -> list[QrKeyOut]:
    return [_out(k) for k in await service.all_keys(session)]


@router.post(
    "/v1/qr-keys/rotate",
    summary="Make a new active signing key; the old one keeps verifying (retiring)",
    status_code=201,
    response_model=QrKeyOut,
)
async def rotate(session: SessionDep, vault: VaultDep, _: KeyAdminDep) -> QrKeyOut:
    return _out(await service.rotate(session, vault))


@router.post(
    "/v1/qr-keys/{key_id}/retire",
    summary="Retire a signing key: codes it signed stop verifying",
    response_model=QrKeyRetirement,
    responses={404: {"description": "unknown key"}, 409: {"description": "already retired"}},
)
async def retire(
    key_id: KeyIdPath, session: SessionDep, vault: VaultDep, _: KeyAdminDep
) -> QrKeyRetirement:
    retired, replacement = await service.retire(session, vault, key_id)
    return QrKeyRetirement(
        retired=_out(retired), replacement=_out(replacement) if replacement else None
    )
