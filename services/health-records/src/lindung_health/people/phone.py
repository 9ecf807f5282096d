"""Phone numbers, normalised to E.164 with Google's libphonenumber (``phonenumbers``)."""

from __future__ import annotations

import phonenumbers


class InvalidPhone(ValueError):
    pass


def normalise_phone(raw: str, default_region: str = "ID") -> str:
    """E.164 form of ``raw`` (local Indonesian numbers like 0812... are accepted)."""
    try:
        number = phonenumbers.parse(raw, default_region)
    except phonenumbers.NumberParseException:
        raise InvalidPhone("the phone number cannot be read") from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhone("the phone number is not a valid number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
