"""Where a health officer's powers reach: the whole country, some provinces or some regencies.

Carried by the officer's token as the ``jurisdiction`` claim (one of ``{"national": true}``,
``{"provinces": ["32", ...]}``, ``{"regencies": ["3273", ...]}``) and enforced by every
service: zone levels, venue reads, statistics and NIK look-ups outside it are refused. An
officer token without the claim reaches nowhere. Imports nothing heavy (``lindung token``
uses it)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

Kind = Literal["national", "provinces", "regencies"]
_WIDTH = {"provinces": 2, "regencies": 4}
_CODE = {2: re.compile(r"^\d{2}$"), 4: re.compile(r"^\d{4}$")}
#: A jurisdiction lists at most this many codes (Indonesia has 38 provinces, 514 regencies).
MAX_CODES = 600


@dataclass(frozen=True)
class Jurisdiction:
    kind: Kind
    codes: frozenset[str] = frozenset()

    @classmethod
    def national(cls) -> Jurisdiction:
        return cls("national")

    @classmethod
    def of(cls, kind: str, codes: list[str] | tuple[str, ...] | frozenset[str]) -> Jurisdiction:
        """Checked construction; ValueError says what is wrong. ``province`` is accepted for
        ``provinces``."""
        kind = "provinces" if kind == "province" else kind
        if kind == "national":
            if codes:
                raise ValueError("a national jurisdiction names no codes")
            return cls("national")
        width = _WIDTH.get(kind)
        if width is None:
            raise ValueError("a jurisdiction is national, provinces or regencies")
        if not codes or len(codes) > MAX_CODES:
            raise ValueError(f"a {kind} jurisdiction names 1 to {MAX_CODES} codes")
        if not all(isinstance(c, str) and _CODE[width].match(c) for c in codes):
            raise ValueError(f"a {kind} jurisdiction needs {width}-digit codes")
        return cls(kind, frozenset(codes))  # type: ignore[arg-type]

    @classmethod
    def from_claim(cls, claim: Any) -> Jurisdiction:
        """The token claim's value; ValueError when it is not exactly one of the three shapes."""
        if not isinstance(claim, dict) or len(claim) != 1:
            raise ValueError("jurisdiction must be an object with one key")
        ((key, value),) = claim.items()
        if key == "national":
            if value is not True:
                raise ValueError("jurisdiction.national must be true")
            return cls.national()
        if not isinstance(value, list):
            raise ValueError(f"jurisdiction.{key} must be a list of codes")
        return cls.of(key, value)

    @classmethod
    def parse(cls, text: str) -> Jurisdiction:
        """The command line's form: ``national``, ``provinces:31,32`` or ``regencies:3273``."""
        kind, _, codes = text.strip().partition(":")
        return cls.of(kind, [c.strip() for c in codes.split(",") if c.strip()])

    def claim(self) -> dict[str, Any]:
        if self.kind == "national":
            return {"national": True}
        return {self.kind: sorted(self.codes)}

    def covers(self, regency_code: str) -> bool:
        if self.kind == "national":
            return True
        if self.kind == "provinces":
            return regency_code[:2] in self.codes
        return regency_code in self.codes

    def __str__(self) -> str:
        if self.kind == "national":
            return "national"
        return f"{self.kind}:{','.join(sorted(self.codes))}"
