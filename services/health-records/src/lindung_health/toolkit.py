"""What the services need from configuration, built once per process (API or worker)."""

from __future__ import annotations

from dataclasses import dataclass

from lindung_shared.sealing import Sealer

from lindung_health.people.nik import RegionCodes
from lindung_health.people.protection import NikProtector
from lindung_health.settings import Settings


@dataclass(frozen=True)
class Toolkit:
    settings: Settings
    protector: NikProtector
    regions: RegionCodes
    #: Seals what the notifier alone may read (phones, sign-in codes).
    sealer: Sealer

    @classmethod
    def from_settings(cls, settings: Settings) -> Toolkit:
        return cls(
            settings=settings,
            protector=NikProtector(
                settings.nik_hash_key.get_secret_value(),
                settings.nik_encryption_key.get_secret_value(),
            ),
            regions=RegionCodes.from_setting(settings.extra_region_codes),
            sealer=Sealer(settings.contact_seal_key.get_secret_value()),
        )
