"""Index the two foreign keys to case that had none (case.merged_into_id, letter.case_id).

Without them every deleted or re-pointed case made SQLite scan the whole case table to check the
self-reference: wiping 31,000 imported cases took 100 s; with them, under a second.

Revision ID: 0004_fk_indexes
Revises: 0003_reports
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004_fk_indexes"
down_revision: str | None = "0003_reports"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(op.f("ix_case_merged_into_id"), "case", ["merged_into_id"], unique=False)
    op.create_index(op.f("ix_letter_case_id"), "letter", ["case_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_letter_case_id"), table_name="letter")
    op.drop_index(op.f("ix_case_merged_into_id"), table_name="case")
