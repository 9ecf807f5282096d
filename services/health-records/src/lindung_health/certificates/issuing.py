"""What a certificate says, built from a person and one health record. Pure: no I/O.

- a vaccination with a known product → a vaccination certificate (``v``);
- a negative test → a test certificate (``t``), valid as long as the test is;
- a positive PCR → a recovery certificate (``r``) valid from day 11 to day 180 after the sample
  (the EU rule).
Records that cannot make a certificate (an unspecified vaccine, a retracted record) are
skipped with the reason.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from lindung_health.certificates.schema import SCHEMA_VERSION

COVID_19 = "840539006"
TEST_TYPES = {"pcr": "LP6464-4", "antigen": "LP217198-3"}
NOT_DETECTED = "260415000"

# CVX code → (vaccine or prophylaxis, medicinal product, marketing authorisation holder, doses
# in the primary series)
_MRNA, _ANTIGEN, _COVID_VACCINE = "1119349007", "1119305005", "J07BX03"
_PFIZER = (_MRNA, "EU/1/20/1528", "ORG-100030215", 2)
_MODERNA = (_MRNA, "EU/1/20/1507", "ORG-100031184", 2)
CVX_PRODUCTS: dict[str, tuple[str, str, str, int]] = {
    "207": _MODERNA,
    "221": _MODERNA,
    "229": _MODERNA,
    "208": _PFIZER,
    "217": _PFIZER,
    "218": _PFIZER,
    "219": _PFIZER,
    "230": _PFIZER,
    "210": (_COVID_VACCINE, "EU/1/21/1529", "ORG-100001699", 2),  # AstraZeneca
    "211": (_ANTIGEN, "EU/1/21/1618", "ORG-100032020", 2),  # Novavax
    "212": (_COVID_VACCINE, "EU/1/20/1525", "ORG-100001417", 1),  # Janssen
    "502": (_COVID_VACCINE, "Covaxin", "Bharat-Biotech", 2),
    "505": (_COVID_VACCINE, "Sputnik-V", "Gamaleya-Research-Institute", 2),
    "506": (_COVID_VACCINE, "Convidecia", "ORG-100013793", 1),
    "510": (_COVID_VACCINE, "BBIBP-CorV", "ORG-100020693", 2),
    "511": (_COVID_VACCINE, "CoronaVac", "Sinovac-Biotech", 2),
}
CVX_SYSTEM = "http://hl7.org/fhir/sid/cvx"

RECOVERY_VALID_FROM_DAYS = 11
RECOVERY_VALID_UNTIL_DAYS = 180
TEST_VALIDITY = {"pcr": timedelta(hours=72), "antigen": timedelta(hours=24)}

_NOT_LETTER = re.compile(r"[^A-Z]+")


def standardised_name(name: str) -> str:
    """ICAO 9303 machine-readable form: A-Z, '<' between words, at most 80 characters."""
    folded = unicodedata.normalize("NFKD", name.upper().replace("ß", "SS"))
    ascii_only = "".join(c for c in folded if not unicodedata.combining(c))
    return _NOT_LETTER.sub("<", ascii_only).strip("<")[:80].rstrip("<")


@dataclass(frozen=True)
class Holder:
    name: str
    birth_date: date


@dataclass(frozen=True)
class RecordFacts:
    """The fields of a health record that a certificate is made from."""

    id: uuid.UUID
    kind: str  # vaccination | test
    occurred_at: datetime | None
    retracted: bool = False
    vaccine_system: str | None = None
    vaccine_code: str | None = None
    dose_number: int | None = None
    test_type: str | None = None  # pcr | antigen
    result: str | None = None  # positive | negative


@dataclass(frozen=True)
class Draft:
    """A certificate ready to sign: its type, content and technical expiry."""

    certificate_type: str  # v | t | r
    uvci: str
    dcc: dict[str, Any]
    expires_at: datetime

    @property
    def fingerprint(self) -> str:
        """Of the content only: a certificate is re-signed when what it says changes."""
        canonical = json.dumps(self.dcc, sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(canonical.encode()).hexdigest()


class NotIssuable(ValueError):
    """This record cannot become a certificate (the message says why)."""


def uvci(country: str, record_id: uuid.UUID, kind: str) -> str:
    """A unique certificate identifier (UVCI, option 3: opaque) for one record and type."""
    return f"URN:UVCI:01:{country}:{kind.upper()}{record_id.hex.upper()}"


def _name(holder: Holder) -> dict[str, str]:
    # Many Indonesian names are a single name: the whole registered name is the primary
    # identifier (fn), as ICAO 9303 does for mononyms.
    return {"fn": holder.name[:80], "fnt": standardised_name(holder.name)}


def _sample_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def draft_certificate(
    holder: Holder,
    record: RecordFacts,
    *,
    country: str,
    issuer: str,
    now: datetime,
    vaccination_validity: timedelta,
) -> Draft:
    """The certificate ``record`` makes for ``holder`` at ``now``; raises :class:`NotIssuable`."""
    if record.retracted:
        raise NotIssuable("the record was retracted")
    if record.occurred_at is None:
        raise NotIssuable("the record has no date")
    base: dict[str, Any] = {
        "ver": SCHEMA_VERSION,
        "nam": _name(holder),
        "dob": holder.birth_date.isoformat(),
    }
    common = {"tg": COVID_19, "co": country, "is": issuer[:80]}
    if record.kind == "vaccination":
        product = (
            CVX_PRODUCTS.get(record.vaccine_code or "")
            if record.vaccine_system == CVX_SYSTEM
            else None
        )
        if product is None:
            raise NotIssuable("the vaccine product is not specified precisely enough")
        prophylaxis, medicinal_product, holder_org, series = product
        dose = record.dose_number or 1
        ci = uvci(country, record.id, "v")
        entry = {
            **common,
            "vp": prophylaxis,
            "mp": medicinal_product,
            "ma": holder_org,
            "dn": dose,
            "sd": max(series, dose),  # a booster is written n/n, as the EU rules ask
            "dt": record.occurred_at.astimezone(UTC).date().isoformat(),
            "ci": ci,
        }
        return Draft("v", ci, {**base, "v": [entry]}, now + vaccination_validity)
    if record.kind == "test" and record.result == "negative" and record.test_type in TEST_TYPES:
        expires = record.occurred_at + TEST_VALIDITY[record.test_type]
        if expires <= now:
            raise NotIssuable("the test is too old to certify")
        ci = uvci(country, record.id, "t")
        entry = {
            **common,
            "tt": TEST_TYPES[record.test_type],
            "sc": _sample_time(record.occurred_at),
            "tr": NOT_DETECTED,
            "ci": ci,
        }
        return Draft("t", ci, {**base, "t": [entry]}, expires)
    if record.kind == "test" and record.result == "positive" and record.test_type == "pcr":
        first_positive = record.occurred_at.astimezone(UTC).date()
        valid_until = first_positive + timedelta(days=RECOVERY_VALID_UNTIL_DAYS)
        expires = datetime(valid_until.year, valid_until.month, valid_until.day, tzinfo=UTC)
        if expires <= now:
            raise NotIssuable("the recovery period is over")
        ci = uvci(country, record.id, "r")
        entry = {
            **common,
            "fr": first_positive.isoformat(),
            "df": (first_positive + timedelta(days=RECOVERY_VALID_FROM_DAYS)).isoformat(),
            "du": valid_until.isoformat(),
            "ci": ci,
        }
        return Draft("r", ci, {**base, "r": [entry]}, expires)
    raise NotIssuable("this kind of record does not make a certificate")


def holder_matches(holder: Holder, dcc: dict[str, Any]) -> bool:
    """Whether a certificate plausibly belongs to ``holder``: the birth date agrees (as far as
    the certificate states it) and at least one name part is shared."""
    dob = str(dcc.get("dob", ""))
    if not dob or not holder.birth_date.isoformat().startswith(dob):
        return False
    nam = dcc.get("nam") or {}
    theirs = {
        part
        for key in ("fnt", "gnt")
        for part in str(nam.get(key) or "").split("<")
        if len(part) > 1
    }
    theirs |= {
        part
        for key in ("fn", "gn")
        for part in standardised_name(str(nam.get(key) or "")).split("<")
        if len(part) > 1
    }
    ours = {part for part in standardised_name(holder.name).split("<") if len(part) > 1}
    return bool(theirs & ours)
