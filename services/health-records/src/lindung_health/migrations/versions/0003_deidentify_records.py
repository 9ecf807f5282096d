"""Feed records at rest without the person: rewrite every stored ``health_records.resource``
through ``deidentify`` (NIK, names, phones, addresses, free text removed; the clinical facts
kept). The rows are linked to their person by ``nik_hash`` and ``person_id``, as before.

Rewritten in batches by id, so a large table does not hold one long statement. The original
resources cannot be restored: the downgrade changes nothing.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03 13:40:00
"""

import json

import sqlalchemy as sa
from alembic import op

from lindung_health.feeds.deidentify import deidentify

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_BATCH = 1000


def upgrade() -> None:
    bind = op.get_bind()
    select = sa.text(
        "SELECT id, resource FROM health_records WHERE id > :after ORDER BY id LIMIT :n"
    )
    update = sa.text("UPDATE health_records SET resource = CAST(:resource AS jsonb) WHERE id = :id")
    after = "00000000-0000-0000-0000-000000000000"
    while True:
        rows = bind.execute(select, {"after": after, "n": _BATCH}).all()
        if not rows:
            break
        changed = []
        for record_id, resource in rows:
            stored = deidentify(resource) if isinstance(resource, dict) else {}
            if stored != resource:
                changed.append({"id": record_id, "resource": json.dumps(stored)})
        if changed:
            bind.execute(update, changed)
        after = rows[-1][0]


def downgrade() -> None:
    pass  # what was removed is gone
