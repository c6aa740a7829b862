"""The metrics' backlog (overdue and listed at the report time) reads the cases not closed by
then through an index on (state, closed_at, cancelled_at), not every case of the scope; the
follow-up figures find a period's closures in the history by their close time.

Revision ID: 0011_dash
Revises: 0010_dispatch_practice
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011_dash"
down_revision: str | None = "0010_dispatch_practice"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_case_backlog", "case", ["state", "closed_at", "cancelled_at"])
    op.create_index("ix_case_history_closed_at", "case_history", ["closed_at"])


def downgrade() -> None:
    op.drop_index("ix_case_history_closed_at", table_name="case_history")
    op.drop_index("ix_case_backlog", table_name="case")
