"""Encryption at rest of the QR signing private keys.

AES-256-GCM with a key derived (HKDF-SHA256) from the ``VENUE_REGISTRY_KEY_ENCRYPTION_KEY``
secret; the key id is authenticated data, so a ciphertext copied onto another key's row
does not decrypt.
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from pydantic import SecretStr

_NONCE_BYTES = 12


class KeyVault:
    def __init__(self, secret: SecretStr) -> None:
        material = secret.get_secret_value().encode()
        if not material:
            raise ValueError("the key encryption key is empty")
        derived = HKDF(
            algorithm=hashes.SHA256(),
            length=32,
            salt=b"lindung-venue-registry",
            info=b"qr-signing-keys/v1",
        ).derive(material)
        self._aead = AESGCM(derived)

    def seal(self, key_id: str, key: Ed25519PrivateKey) -> bytes:
        nonce = os.urandom(_NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, key.private_bytes_raw(), key_id.encode())

    def open(self, key_id: str, sealed: bytes) -> Ed25519PrivateKey:
        nonce, ciphertext = sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:]
        try:
            raw = self._aead.decrypt(nonce, ciphertext, key_id.encode())
        except InvalidTag as exc:
            raise RuntimeError(
                f"QR signing key {key_id} does not decrypt with the configured "
                "VENUE_REGISTRY_KEY_ENCRYPTION_KEY"
            ) from exc
        return Ed25519PrivateKey.from_private_bytes(raw)
