"""The lean EdDSA token check gives PyJWT's answers (PyJWT is the reference here)."""

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


def answer(decode: Any, text: str) -> tuple[str, Any]:
    try:
        return "ok", decode(text)
    except Unauthorized as exc:
        return "refused", "expired" if "expired" in exc.detail else "invalid"


def both(text: str) -> tuple[tuple[str, Any], tuple[str, Any]]:
    return (
        answer(lambda t: VERIFIER.decode_eddsa(t, PUBLIC), text),
        answer(lambda t: VERIFIER.decode_pyjwt(t, JWK), text),
    )


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
def test_the_lean_check_answers_like_pyjwt(case: str) -> None:
    lean, reference = both(cases()[case])
    assert lean[0] == reference[0], case
    if lean[0] == "ok":
        assert lean[1] == reference[1]
    elif case == "expired":
        assert lean[1] == reference[1] == "expired"


def test_the_cases_cover_acceptance_and_each_refusal() -> None:
    answers = {case: both(text)[0][0] for case, text in cases().items()}
    accepted = {c for c, a in answers.items() if a == "ok"}
    assert accepted == {"valid", "audience in a list", "expired within the leeway"}


@settings(max_examples=300, deadline=None)
@given(position=st.integers(min_value=0), replacement=st.characters(codec="ascii"))
def test_no_altered_token_passes_the_lean_check_that_pyjwt_refuses(
    position: int, replacement: str
) -> None:
    valid = token(claims())
    i = position % len(valid)
    altered = valid[:i] + replacement + valid[i + 1 :]
    lean, reference = both(altered)
    if lean[0] == "ok":
        # Strict base64url can only refuse more than PyJWT's lenient decoding, never less.
        assert reference == lean
