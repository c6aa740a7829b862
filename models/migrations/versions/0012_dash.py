"""The metrics ask whether anything in the history is later than the report time (asof.settled:
then the cases at that time are their live columns) through an index on the entries' time.

Revision ID: 0012_dash
Revises: 0011_dash
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012_dash"
down_revision: str | None = "0011_dash"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_case_history_at", "case_history", ["at"])


def downgrade() -> None:
    op.drop_index("ix_case_history_at", table_name="case_history")
