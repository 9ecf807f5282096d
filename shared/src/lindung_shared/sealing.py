"""Personal values sealed for another service: a phone number travels from health-records to
the notifier (on ``lindung.people`` and ``lindung.sign-in-codes``) and rests in the notifier's
tables as AES-256-GCM ciphertext under a key the two services share
(``LINDUNG_CONTACT_SEAL_KEY``); only the notifier's delivery worker opens it, at the moment it
hands an SMS to the gateway. A topic dump or a database copy shows no phone number.

The label (``"phone"``, ``"code"``) is bound into each ciphertext, so one kind cannot be
passed off as another. Sealed values are text: ``s1.`` and the base64url of nonce + ciphertext.
"""

from __future__ import annotations

import base64
import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

PREFIX = "s1."


class Sealer:
    def __init__(self, secret: str) -> None:
        key = HKDF(
            algorithm=SHA256(), length=32, salt=b"lindung-contact-seal", info=b"aes-256-gcm"
        ).derive(secret.encode())
        self._aead = AESGCM(key)

    def seal(self, value: str, label: str) -> str:
        nonce = os.urandom(12)
        sealed = nonce + self._aead.encrypt(nonce, value.encode(), label.encode())
        return PREFIX + base64.urlsafe_b64encode(sealed).decode().rstrip("=")

    def unseal(self, token: str, label: str) -> str:
        if not token.startswith(PREFIX):
            raise ValueError("not a sealed value")
        body = token.removeprefix(PREFIX)
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        return self._aead.decrypt(raw[:12], raw[12:], label.encode()).decode()


def is_sealed(value: str) -> bool:
    return value.startswith(PREFIX)
