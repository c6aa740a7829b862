"""The settled fast path of the metrics (asof.at_live) finds the few cases the ledger rule of an
imported case may change through indexes, not by reading the scope's cases a second time: a
partial index on the filing time of the cases never dispatched or neither in a dispatched state
nor closed, and an index on the dispatch time (those dispatched after the report time).

Revision ID: 0013_dash
Revises: 0012_dash
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_dash"
down_revision: str | None = "0012_dash"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# models.case.LEDGER_FEW, as it stood at this revision.
LEDGER_FEW = (
    "dispatched_at IS NULL"
    " OR state NOT IN ('dispatched', 'rectifying', 'suspended', 'verifying', 'closed')"
)


def upgrade() -> None:
    op.create_index(
        "ix_case_ledger_few",
        "case",
        ["reported_at"],
        postgresql_where=sa.text(LEDGER_FEW),
        sqlite_where=sa.text(LEDGER_FEW),
    )
    op.create_index("ix_case_dispatched_at", "case", ["dispatched_at"])


def downgrade() -> None:
    op.drop_index("ix_case_dispatched_at", table_name="case")
    op.drop_index("ix_case_ledger_few", table_name="case")
