"""Phones sealed at rest: ``recipients.phone_e164`` becomes ``phone_sealed`` and every SMS
delivery's ``destination`` is sealed (AES-256-GCM under ``LINDUNG_CONTACT_SEAL_KEY``,
``lindung_shared.sealing``); rows stored in clear are rewritten in batches. The delivery
worker opens a destination only to hand the SMS to the gateway. The downgrade opens them.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from lindung_shared.sealing import PREFIX, Sealer

from lindung_notifier.settings import Settings

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_BATCH = 1000


def _sealer() -> Sealer:
    return Sealer(Settings().contact_seal_key.get_secret_value())


def _rewrite(table: str, key: str, column: str, change: object, where: str) -> None:
    bind = op.get_bind()
    select = sa.text(f"SELECT {key}, {column} FROM {table} WHERE {where} LIMIT :n")  # noqa: S608
    update = sa.text(f"UPDATE {table} SET {column} = :value WHERE {key} = :key")  # noqa: S608
    while rows := bind.execute(select, {"n": _BATCH}).all():
        bind.execute(update, [{"key": r[0], "value": change(r[1])} for r in rows])  # type: ignore[operator]


def upgrade() -> None:
    sealer = _sealer()
    op.alter_column("recipients", "phone_e164", new_column_name="phone_sealed")
    unsealed = f"{{column}} IS NOT NULL AND {{column}} NOT LIKE '{PREFIX}%'"
    _rewrite(
        "recipients",
        "subject",
        "phone_sealed",
        lambda phone: sealer.seal(phone, "phone"),
        unsealed.format(column="phone_sealed"),
    )
    _rewrite(
        "deliveries",
        "id",
        "destination",
        lambda phone: sealer.seal(phone, "phone"),
        "channel = 'sms' AND " + unsealed.format(column="destination"),
    )


def downgrade() -> None:
    sealer = _sealer()
    sealed = f"{{column}} LIKE '{PREFIX}%'"
    _rewrite(
        "deliveries",
        "id",
        "destination",
        lambda value: sealer.unseal(value, "phone"),
        "channel = 'sms' AND " + sealed.format(column="destination"),
    )
    _rewrite(
        "recipients",
        "subject",
        "phone_sealed",
        lambda value: sealer.unseal(value, "phone"),
        sealed.format(column="phone_sealed"),
    )
    op.alter_column("recipients", "phone_sealed", new_column_name="phone_e164")
