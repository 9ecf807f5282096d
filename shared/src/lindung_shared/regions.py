"""Indonesia's provinces and regencies (kabupaten/kota), and the time zone of each: one place
for every service (data in ``lindung_shared/data``, see its SOURCE.md).

Codes are the Ministry of Home Affairs' four-digit codes (the first four digits of a NIK).
The shipped list predates the 2022 split of Papua, so an operator may add codes from a CSV
of the same shape (``code,province_code,name``).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Literal

Timezone = Literal["Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura"]
_DATA = resources.files("lindung_shared") / "data"
REGENCY_CODE = re.compile(r"^\d{4}$")

#: Provinces on Central Indonesian Time (WITA); the rest of the west is WIB.
_WITA_PROVINCES = frozenset({"51", "52", "53", "63", "64", "65"})


@dataclass(frozen=True)
class Regency:
    code: str
    province_code: str
    name: str


def timezone_of_province(province_code: str) -> Timezone:
    """WIB for Sumatra, Java and West/Central Kalimantan; WITA for Bali, Nusa Tenggara, the
    rest of Kalimantan and Sulawesi (7x); WIT for Maluku (8x) and Papua (9x)."""
    if province_code[:1] in ("8", "9"):
        return "Asia/Jayapura"
    if province_code[:1] == "7" or province_code in _WITA_PROVINCES:
        return "Asia/Makassar"
    return "Asia/Jakarta"


class RegencyCatalogue:
    def __init__(
        self, regencies: Iterable[Regency], provinces: Mapping[str, str] | None = None
    ) -> None:
        self._by_code: dict[str, Regency] = {r.code: r for r in regencies}
        self._provinces: dict[str, str] = dict(provinces or {})

    def province_name(self, province_code: str) -> str | None:
        """The province's name; None for a province newer than the shipped list."""
        return self._provinces.get(province_code)

    def __len__(self) -> int:
        return len(self._by_code)

    def __contains__(self, code: object) -> bool:
        return code in self._by_code

    def get(self, code: str) -> Regency | None:
        return self._by_code.get(code)

    def timezone_of(self, code: str) -> Timezone:
        regency = self._by_code.get(code)
        return timezone_of_province(regency.province_code if regency else code[:2])

    @property
    def regencies(self) -> Mapping[str, Regency]:
        return self._by_code

    @classmethod
    def load(cls, extra_csv: Path | None = None) -> RegencyCatalogue:
        provinces = shipped_provinces()
        shipped = (_DATA / "regencies.csv").read_text(encoding="utf-8")
        regencies = _parse(shipped, "shipped regencies.csv")
        unknown = sorted({r.province_code for r in regencies} - provinces.keys())
        if unknown:
            raise ValueError(f"shipped regencies name unknown provinces: {unknown}")
        if extra_csv is not None:
            regencies += _parse(extra_csv.read_text(encoding="utf-8"), str(extra_csv))
        return cls(regencies, provinces)


def shipped_provinces() -> dict[str, str]:
    """Province code -> name, as shipped."""
    return _parse_provinces((_DATA / "provinces.csv").read_text(encoding="utf-8"))


def shipped_regency_codes() -> frozenset[str]:
    """Every shipped regency code."""
    text = (_DATA / "regencies.csv").read_text(encoding="utf-8")
    return frozenset(r.code for r in _parse(text, "shipped regencies.csv"))


def timezone_of_regency(code: str) -> Timezone:
    """The time zone of a regency (by its province, the code's first two digits)."""
    return timezone_of_province(code[:2])


def _parse_provinces(text: str) -> dict[str, str]:
    rows = (row for row in csv.reader(text.splitlines()) if len(row) >= 2)
    return {code.strip(): name.strip() for code, name, *_ in rows}


def _parse(text: str, source: str) -> list[Regency]:
    found: list[Regency] = []
    for number, row in enumerate(csv.reader(text.splitlines()), start=1):
        if not row or not "".join(row).strip() or row[0].strip().lower() == "code":
            continue
        if len(row) < 3:
            raise ValueError(f"{source} line {number}: expected code,province_code,name")
        code, province, name = (cell.strip() for cell in row[:3])
        if not REGENCY_CODE.match(code) or not re.match(r"^\d{2}$", province):
            raise ValueError(f"{source} line {number}: bad regency or province code")
        if code[:2] != province:
            raise ValueError(f"{source} line {number}: regency {code} is not in {province}")
        found.append(Regency(code, province, name))
    return found
