import time
import uuid

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st
from lindung_shared.qr import (
    PREFIX,
    QrInvalid,
    jwk_from_public_key,
    public_key_from_jwk,
    sign_qr,
    verify_qr,
)

KEY = Ed25519PrivateKey.generate()
KEYS = {"k1": KEY.public_key()}
VENUE, QR = uuid.uuid4(), uuid.uuid4()
PAYLOAD = sign_qr(KEY, "k1", venue_id=VENUE, entrance="Lobby", qr_id=QR, issued_at=1_700_000_000)


def test_round_trip():
    claims = verify_qr(PAYLOAD, KEYS)
    assert (claims.venue_id, claims.entrance, claims.qr_id, claims.key_id) == (
        VENUE,
        "Lobby",
        QR,
        "k1",
    )


def test_public_key_survives_the_jwk_round_trip():
    jwk = jwk_from_public_key(KEY.public_key(), "k1")
    assert verify_qr(PAYLOAD, {"k1": public_key_from_jwk(jwk)}).qr_id == QR


@settings(max_examples=300, deadline=None)
@given(
    position=st.integers(min_value=len(PREFIX), max_value=len(PAYLOAD) - 1),
    replacement=st.sampled_from(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."
    ),
)
def test_any_single_changed_character_fails(position, replacement):
    if PAYLOAD[position] == replacement:
        return
    altered = PAYLOAD[:position] + replacement + PAYLOAD[position + 1 :]
    with pytest.raises(QrInvalid):
        verify_qr(altered, KEYS)


def test_a_forged_code_signed_by_another_key_fails():
    forged = sign_qr(Ed25519PrivateKey.generate(), "k1", venue_id=VENUE, entrance="Lobby", qr_id=QR)
    with pytest.raises(QrInvalid) as err:
        verify_qr(forged, KEYS)
    assert err.value.reason == "bad-signature"


def test_unknown_key_and_expiry_and_foreign_text():
    with pytest.raises(QrInvalid) as err:
        verify_qr(PAYLOAD, {"other": KEY.public_key()})
    assert err.value.reason == "unknown-key"
    expired = sign_qr(
        KEY, "k1", venue_id=VENUE, entrance="A", qr_id=QR, expires_at=int(time.time()) - 1
    )
    with pytest.raises(QrInvalid) as err:
        verify_qr(expired, KEYS)
    assert err.value.reason == "expired"
    with pytest.raises(QrInvalid) as err:
        verify_qr("https://example.org/", KEYS)
    assert err.value.reason == "not-lindung"
