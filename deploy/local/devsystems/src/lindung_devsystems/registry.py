"""The civil registry: residents by NIK, and the identity check Dukcapil offers to
institutions (does this NIK belong to a resident with this name and birth date?)."""

from __future__ import annotations

import csv
import unicodedata
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Literal

Sex = Literal["F", "M"]


@dataclass(frozen=True)
class Resident:
    nik: str
    full_name: str
    birth_date: date
    sex: Sex
    birth_place: str
    regency_code: str


def normalise_name(name: str) -> str:
    """Names compare case-, accent- and spacing-insensitively (``"ayu  LESTARI"`` matches
    ``"Ayu Lestari"``), as the registry's own matching does; anything else is a mismatch."""
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return " ".join(folded.casefold().split())


def load_residents(path: Path) -> dict[str, Resident]:
    residents: dict[str, Resident] = {}
    with path.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            sex = row["sex"].strip().upper()
            if sex not in ("F", "M"):
                raise ValueError(f"{path}: bad sex {sex!r} for a resident")
            resident = Resident(
                nik=row["nik"].strip(),
                full_name=row["full_name"].strip(),
                birth_date=date.fromisoformat(row["birth_date"].strip()),
                sex="F" if sex == "F" else "M",
                birth_place=row["birth_place"].strip(),
                regency_code=row["regency_code"].strip(),
            )
            if resident.nik in residents:
                raise ValueError(f"{path}: a NIK appears twice")
            residents[resident.nik] = resident
    return residents


Verdict = Literal["match", "mismatch", "not-found"]


class CivilRegistry:
    def __init__(self, residents: dict[str, Resident]) -> None:
        self.residents = residents

    def verify(self, nik: str, full_name: str, birth_date: date) -> tuple[Verdict, Resident | None]:
        resident = self.residents.get(nik)
        if resident is None:
            return "not-found", None
        if (
            normalise_name(full_name) != normalise_name(resident.full_name)
            or birth_date != resident.birth_date
        ):
            return "mismatch", None
        return "match", resident

    def enrol(self, resident: Resident) -> bool | None:
        """Add a resident (tests and demos enrol their own fictitious people). True: added;
        False: already there, identical; None: the NIK belongs to someone else."""
        existing = self.residents.get(resident.nik)
        if existing is None:
            self.residents[resident.nik] = resident
            return True
        return False if existing == resident else None
