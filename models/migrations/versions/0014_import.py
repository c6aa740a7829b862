"""The history's index on case_id alone is dropped: uq_case_history_seq (case_id, seq) leads
with the same column and serves every look-up by case, so the second index only cost each
inserted entry one more index insert (an import writes one entry a case).

Revision ID: 0014_import
Revises: 0013_dash
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0014_import"
down_revision: str | None = "0013_dash"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_case_history_case_id", table_name="case_history")


def downgrade() -> None:
    op.create_index("ix_case_history_case_id", "case_history", ["case_id"])
