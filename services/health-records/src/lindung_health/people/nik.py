"""Structure of the NIK (Nomor Induk Kependudukan), the 16-digit Indonesian national id.

Digits 1-2: province, 1-4: regency/city (Kemendagri codes, ``lindung_shared.regions``), 5-6:
district, 7-12: date of birth DDMMYY (women add 40 to the day), 13-16: serial (never 0000).
Errors never quote the NIK itself (it is personal data): only which field is wrong.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Literal

from lindung_shared.regions import shipped_provinces, shipped_regency_codes

Sex = Literal["F", "M"]

_NIK = re.compile(r"^\d{16}$")


class InvalidNik(ValueError):
    """The NIK is not structurally valid; ``reason`` is a machine code, the message is safe
    to show (it names the field, never the digits)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class NikInfo:
    province_code: str
    regency_code: str
    district_code: str
    day: int
    month: int
    year_2digits: int
    sex: Sex
    serial: str

    def birth_date_candidates(self, today: date) -> list[date]:
        """The birth dates the NIK can encode (one per century that makes a real past date),
        most recent first."""
        found = []
        for century in (2000, 1900):
            try:
                candidate = date(century + self.year_2digits, self.month, self.day)
            except ValueError:
                continue
            if candidate <= today:
                found.append(candidate)
        return found

    def agrees_with(self, birth_date: date) -> bool:
        return (birth_date.day, birth_date.month, birth_date.year % 100) == (
            self.day,
            self.month,
            self.year_2digits,
        )


@lru_cache(maxsize=1)
def official_regions() -> tuple[frozenset[str], frozenset[str]]:
    """(province codes, regency codes) from the shipped Kemendagri lists (shared)."""
    return frozenset(shipped_provinces()), shipped_regency_codes()


class RegionCodes:
    """The regency codes a NIK may start with: the official list plus operator extras."""

    def __init__(self, extra_regency_codes: Iterable[str] = ()) -> None:
        provinces, regencies = official_regions()
        extras = {c.strip() for c in extra_regency_codes if c.strip()}
        for code in extras:
            if not re.fullmatch(r"\d{4}", code):
                raise ValueError(f"extra regency code {code!r} is not four digits")
        self.regencies = regencies | extras
        self.provinces = provinces | {c[:2] for c in extras}

    @classmethod
    def from_setting(cls, value: str) -> RegionCodes:
        return cls(value.split(","))


def parse_nik(nik: str, regions: RegionCodes, *, today: date) -> NikInfo:
    """Validate the structure of ``nik`` and decode it; raises :class:`InvalidNik`."""
    if not _NIK.fullmatch(nik):
        raise InvalidNik("nik-format", "the NIK must be exactly 16 digits")
    province, regency, district = nik[:2], nik[:4], nik[4:6]
    if province not in regions.provinces:
        raise InvalidNik("nik-province", "the NIK's province code (digits 1-2) does not exist")
    if regency not in regions.regencies:
        raise InvalidNik("nik-regency", "the NIK's regency code (digits 1-4) does not exist")
    if district == "00":
        raise InvalidNik("nik-district", "the NIK's district code (digits 5-6) cannot be 00")
    day, month, year = int(nik[6:8]), int(nik[8:10]), int(nik[10:12])
    sex: Sex = "M"
    if day > 40:
        day, sex = day - 40, "F"
    serial = nik[12:]
    if serial == "0000":
        raise InvalidNik("nik-serial", "the NIK's serial number (digits 13-16) cannot be 0000")
    info = NikInfo(province, regency, district, day, month, year, sex, serial)
    if not info.birth_date_candidates(today):
        raise InvalidNik(
            "nik-birth-date",
            "the NIK's date of birth (digits 7-12, DDMMYY, day + 40 for women) is not a real "
            "past date",
        )
    return info


def nik_for(regency_code: str, district: str, birth_date: date, sex: Sex, serial: int) -> str:
    """Compose a NIK (tests and fixtures)."""
    day = birth_date.day + (40 if sex == "F" else 0)
    return (
        f"{regency_code}{district}{day:02d}{birth_date.month:02d}{birth_date.year % 100:02d}"
        f"{serial:04d}"
    )
