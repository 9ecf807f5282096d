"""Round trip of the shared QR format with keys as the registry stores them."""

from __future__ import annotations

import uuid

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st
from lindung_shared.qr import QrInvalid, sign_qr, verify_qr
from lindung_venues.qr_keys.vault import KeyVault
from pydantic import SecretStr

KEY = Ed25519PrivateKey.generate()
VAULT = KeyVault(SecretStr("test-key-encryption-key"))
STORED = VAULT.open("qr-test", VAULT.seal("qr-test", KEY))
KEYS = {"qr-test": KEY.public_key()}
# Ed25519 signatures are deterministic: a fixed payload keeps the draws reproducible.
PAYLOAD = sign_qr(
    STORED,
    "qr-test",
    venue_id=uuid.UUID(int=1),
    entrance="Main",
    qr_id=uuid.UUID(int=2),
    issued_at=1,
)
entrances = st.text(min_size=1, max_size=64).filter(lambda s: s.strip() == s and s)


@settings(deadline=None)  # signing is fast, but the shared CI machine is not always
@given(entrance=entrances, venue=st.uuids(), qr=st.uuids(), issued=st.integers(0, 2**40))
def test_sign_with_the_stored_key_then_verify(entrance, venue, qr, issued):
    payload = sign_qr(
        STORED, "qr-test", venue_id=venue, entrance=entrance, qr_id=qr, issued_at=issued
    )
    claims = verify_qr(payload, KEYS)
    assert (claims.venue_id, claims.entrance, claims.qr_id, claims.issued_at) == (
        venue,
        entrance,
        qr,
        issued,
    )


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_any_single_changed_character_fails(data):
    payload = PAYLOAD
    index = data.draw(st.integers(0, len(payload) - 1))
    replacement = data.draw(
        st.sampled_from(
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.:"
        ).filter(lambda c: c != payload[index])
    )
    with pytest.raises(QrInvalid):
        verify_qr(payload[:index] + replacement + payload[index + 1 :], KEYS)
