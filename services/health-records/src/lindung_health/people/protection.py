"""How personal identifiers are kept: a keyed hash for look-up, authenticated encryption for
display to officers. A leaked table shows neither NIKs nor a way to test guesses offline."""

from __future__ import annotations

import hashlib
import hmac
import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_VERSION = b"\x01"
_AAD = b"lindung-nik-v1"


class NikProtector:
    def __init__(self, hash_key: str, encryption_secret: str) -> None:
        self._hash_key = hash_key.encode()
        key = HKDF(
            algorithm=SHA256(), length=32, salt=b"lindung-health-records", info=b"nik-aes-gcm"
        ).derive(encryption_secret.encode())
        self._aead = AESGCM(key)

    def hash(self, nik: str) -> bytes:
        return hmac.new(self._hash_key, b"nik:" + nik.encode(), hashlib.sha256).digest()

    def phone_hash(self, phone_e164: str) -> bytes:
        """Keyed hash of a phone number in E.164 (find the people of a phone)."""
        return hmac.new(self._hash_key, b"phone:" + phone_e164.encode(), hashlib.sha256).digest()

    def encrypt(self, nik: str) -> bytes:
        nonce = os.urandom(12)
        return _VERSION + nonce + self._aead.encrypt(nonce, nik.encode(), _AAD)

    def decrypt(self, blob: bytes) -> str:
        if blob[:1] != _VERSION:
            raise ValueError("unknown NIK ciphertext version")
        return self._aead.decrypt(blob[1:13], blob[13:], _AAD).decode()

    def seal(self, value: str, label: str) -> bytes:
        """Authenticated encryption of another personal value (a phone number, a name); the
        ``label`` is bound in, so a ciphertext cannot be passed off as another kind."""
        nonce = os.urandom(12)
        return _VERSION + nonce + self._aead.encrypt(nonce, value.encode(), _label(label))

    def unseal(self, blob: bytes, label: str) -> str:
        if blob[:1] != _VERSION:
            raise ValueError("unknown ciphertext version")
        return self._aead.decrypt(blob[1:13], blob[13:], _label(label)).decode()

    def code_hash(self, code_id: bytes, code: str) -> bytes:
        """Keyed hash of a one-time sign-in code (bound to its row id)."""
        return hmac.new(
            self._hash_key, b"otp:" + code_id + b":" + code.encode(), hashlib.sha256
        ).digest()


def _label(label: str) -> bytes:
    return b"lindung-" + label.encode() + b"-v1"
