"""People's name and phone no longer in clear: the phone becomes a keyed hash (look-up) and
an AES-256-GCM ciphertext (sending), the name a ciphertext. Existing rows are rewritten with
the keys of the settings (``HEALTH_NIK_HASH_KEY``, ``HEALTH_NIK_ENCRYPTION_KEY``) in batches,
then the clear columns are dropped. The downgrade decrypts them back.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from lindung_health.people.protection import NikProtector
from lindung_health.settings import Settings

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_BATCH = 1000


def _protector() -> NikProtector:
    settings = Settings()
    return NikProtector(
        settings.nik_hash_key.get_secret_value(), settings.nik_encryption_key.get_secret_value()
    )


def upgrade() -> None:
    op.add_column("people", sa.Column("name_ciphertext", sa.LargeBinary()))
    op.add_column("people", sa.Column("phone_hash", sa.LargeBinary()))
    op.add_column("people", sa.Column("phone_ciphertext", sa.LargeBinary()))
    bind = op.get_bind()
    protector = _protector()
    select = sa.text(
        "SELECT id, name, phone_e164 FROM people WHERE name_ciphertext IS NULL "
        "ORDER BY id LIMIT :n"
    )
    update = sa.text(
        "UPDATE people SET name_ciphertext = :name, phone_hash = :hash, "
        "phone_ciphertext = :phone WHERE id = :id"
    )
    while rows := bind.execute(select, {"n": _BATCH}).all():
        bind.execute(
            update,
            [
                {
                    "id": row.id,
                    "name": protector.seal(row.name, "name"),
                    "hash": protector.phone_hash(row.phone_e164),
                    "phone": protector.seal(row.phone_e164, "phone"),
                }
                for row in rows
            ],
        )
    for column in ("name_ciphertext", "phone_hash", "phone_ciphertext"):
        op.alter_column("people", column, nullable=False)
    op.drop_index("ix_people_phone_e164", table_name="people")
    op.drop_column("people", "phone_e164")
    op.drop_column("people", "name")
    op.create_index("ix_people_phone_hash", "people", ["phone_hash"])


def downgrade() -> None:
    op.add_column("people", sa.Column("name", sa.Text()))
    op.add_column("people", sa.Column("phone_e164", sa.Text()))
    bind = op.get_bind()
    protector = _protector()
    rows = bind.execute(sa.text("SELECT id, name_ciphertext, phone_ciphertext FROM people")).all()
    for row in rows:
        bind.execute(
            sa.text("UPDATE people SET name = :name, phone_e164 = :phone WHERE id = :id"),
            {
                "id": row.id,
                "name": protector.unseal(row.name_ciphertext, "name"),
                "phone": protector.unseal(row.phone_ciphertext, "phone"),
            },
        )
    op.alter_column("people", "name", nullable=False)
    op.alter_column("people", "phone_e164", nullable=False)
    op.drop_index("ix_people_phone_hash", table_name="people")
    op.drop_column("people", "phone_ciphertext")
    op.drop_column("people", "phone_hash")
    op.drop_column("people", "name_ciphertext")
    op.create_index("ix_people_phone_e164", "people", ["phone_e164"])
