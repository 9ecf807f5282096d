"""Objects the API builds once at start-up and hands to endpoints as dependencies."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from lindung_shared.regions import RegencyCatalogue

from lindung_venues.qr_keys.vault import KeyVault
from lindung_venues.settings import Settings


def _regencies(request: Request) -> RegencyCatalogue:
    catalogue: RegencyCatalogue = request.app.state.regencies
    return catalogue


def _vault(request: Request) -> KeyVault:
    vault: KeyVault = request.app.state.key_vault
    return vault


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


RegenciesDep = Annotated[RegencyCatalogue, Depends(_regencies)]
VaultDep = Annotated[KeyVault, Depends(_vault)]
SettingsDep = Annotated[Settings, Depends(_settings)]
