"""Helpers for the notifier's tests."""

from __future__ import annotations

from lindung_shared.sealing import Sealer

from lindung_notifier.settings import Settings


def sealed(phone: str) -> str:
    """``phone`` sealed as health-records seals it for us (development key)."""
    return Sealer(Settings().contact_seal_key.get_secret_value()).seal(phone, "phone")


def opened(value: str | None) -> str | None:
    """A sealed phone opened (None stays None)."""
    if value is None:
        return None
    return Sealer(Settings().contact_seal_key.get_secret_value()).unseal(value, "phone")
