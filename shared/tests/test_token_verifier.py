"""The one token check (PyJWT under the shared verifier): what it accepts and refuses."""

from __future__ import annotations

import base64
import time
from typing import Any

import jwt
import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st
from lindung_shared.auth import TokenVerifier
from lindung_shared.errors import Unauthorized
from lindung_shared.settings import ServiceSettings

SETTINGS = ServiceSettings(LINDUNG_ENV="test")
KEY = Ed25519PrivateKey.generate()
OTHER_KEY = Ed25519PrivateKey.generate()
PUBLIC = KEY.public_key()
JWK = jwt.PyJWK.from_dict({**orjson.loads(jwt.algorithms.OKPAlgorithm.to_jwk(PUBLIC)), "kid": "k1"})
VERIFIER = TokenVerifier(SETTINGS)


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    base: dict[str, Any] = {
        "iss": SETTINGS.auth_issuer,
        "aud": SETTINGS.auth_audience,
        "sub": "person-1",
        "roles": ["citizen"],
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        "jti": "t-1",
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not _DROP}


_DROP = object()


def token(payload: dict[str, Any], *, key: Ed25519PrivateKey = KEY, **header: Any) -> str:
    return jwt.encode(payload, key, algorithm="EdDSA", headers={"kid": "k1", **header})


def answer(text: str) -> tuple[str, Any]:
    try:
        return "ok", VERIFIER.decode(text, JWK)
    except Unauthorized as exc:
        return "refused", "expired" if "expired" in exc.detail else "invalid"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def cases() -> dict[str, str]:
    """Built when a test runs: the times are relative to now."""
    now = int(time.time())
    return {
        "valid": token(claims()),
        "audience in a list": token(claims(aud=["other", SETTINGS.auth_audience])),
        "expired": token(claims(exp=now - 31)),
        "expired within the leeway": token(claims(exp=now - 10)),
        "issued in the future": token(claims(iat=now + 120)),
        "not yet valid": token(claims(nbf=now + 120)),
        "wrong audience": token(claims(aud="someone-else")),
        "no audience": token(claims(aud=_DROP)),
        "wrong issuer": token(claims(iss="https://evil.example")),
        "no issuer": token(claims(iss=_DROP)),
        "no subject": token(claims(sub=_DROP)),
        "no expiry": token(claims(exp=_DROP)),
        "no iat": token(claims(iat=_DROP)),
        "numeric subject": token(claims(sub=42)),
        "boolean expiry": token(claims(exp=True)),
        "signed by another key": token(claims(), key=OTHER_KEY),
        "payload swapped after signing": ".".join(
            [
                token(claims()).split(".")[0],
                b64(orjson.dumps(claims(sub="admin"))),
                token(claims()).split(".")[2],
            ]
        ),
        "signature cut": token(claims())[:-4],
        "two segments": ".".join(token(claims()).split(".")[:2]),
        "four segments": token(claims()) + ".e30",
        "payload not an object": ".".join(
            [token(claims()).split(".")[0], b64(b"[1,2]"), token(claims()).split(".")[2]]
        ),
    }


CASE_NAMES = sorted(cases())


@pytest.mark.parametrize("case", CASE_NAMES)
def test_each_case_is_accepted_or_refused_as_it_should(case: str) -> None:
    outcome = answer(cases()[case])
    accepted = {"valid", "audience in a list", "expired within the leeway"}
    assert outcome[0] == ("ok" if case in accepted else "refused"), case
    if case == "expired":
        assert outcome[1] == "expired"
    if outcome[0] == "ok":
        assert outcome[1]["sub"] == "person-1"


@settings(max_examples=300, deadline=None)
@given(position=st.integers(min_value=0), replacement=st.characters(codec="ascii"))
def test_no_altered_token_passes_with_other_claims(position: int, replacement: str) -> None:
    original = claims()
    valid = token(original)
    i = position % len(valid)
    altered = valid[:i] + replacement + valid[i + 1 :]
    outcome = answer(altered)
    if outcome[0] == "ok":
        # Only an alteration that decodes to the same bytes (unused base64 bits) can pass.
        assert outcome[1] == original
