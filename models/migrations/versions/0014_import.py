"""Indexes an import (and every filing) paid for without use:
- the history's index on case_id alone is dropped: uq_case_history_seq (case_id, seq) leads with
  the same column and serves every look-up by case;
- the case's references most cases leave empty (reporter, merged into, enterprise, inspection)
  are indexed only where given (partial indexes, `… IS NOT NULL`): every look-up compares the
  column with a value, which implies the predicate, so they serve the same queries, and an
  empty value no longer costs each new case one index insert per column.

Revision ID: 0014_import
Revises: 0013_dash
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014_import"
down_revision: str | None = "0013_dash"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GIVEN_ONLY = ("reporter_id", "merged_into_id", "enterprise_code", "inspection_id")


def upgrade() -> None:
    op.drop_index("ix_case_history_case_id", table_name="case_history")
    for column in GIVEN_ONLY:
        where = sa.text(f"{column} IS NOT NULL")
        op.drop_index(f"ix_case_{column}", table_name="case")
        op.create_index(
            f"ix_case_{column}", "case", [column], postgresql_where=where, sqlite_where=where
        )


def downgrade() -> None:
    for column in GIVEN_ONLY:
        op.drop_index(f"ix_case_{column}", table_name="case")
        op.create_index(f"ix_case_{column}", "case", [column])
    op.create_index("ix_case_history_case_id", "case_history", ["case_id"])
