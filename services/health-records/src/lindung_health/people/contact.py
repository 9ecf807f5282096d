"""A person's name and phone: never in clear at rest. The phone is kept as a keyed hash (to
find a phone's people) and sealed with AES-256-GCM (to send to it); the name sealed (for
certificates and officers). These helpers are the only way code reads or writes them."""

from __future__ import annotations

from lindung_health.models import Person
from lindung_health.people.protection import NikProtector


def phone_of(protector: NikProtector, person: Person) -> str:
    return protector.unseal(person.phone_ciphertext, "phone")


def name_of(protector: NikProtector, person: Person) -> str:
    return protector.unseal(person.name_ciphertext, "name")


def has_phone(protector: NikProtector, person: Person, phone_e164: str) -> bool:
    return person.phone_hash == protector.phone_hash(phone_e164)


def set_phone(protector: NikProtector, person: Person, phone_e164: str) -> None:
    person.phone_hash = protector.phone_hash(phone_e164)
    person.phone_ciphertext = protector.seal(phone_e164, "phone")


def set_name(protector: NikProtector, person: Person, name: str) -> None:
    person.name_ciphertext = protector.seal(name, "name")


def sealed_columns(protector: NikProtector, *, name: str, phone_e164: str) -> dict[str, bytes]:
    """The stored columns of a new person's name and phone."""
    return {
        "name_ciphertext": protector.seal(name, "name"),
        "phone_hash": protector.phone_hash(phone_e164),
        "phone_ciphertext": protector.seal(phone_e164, "phone"),
    }
