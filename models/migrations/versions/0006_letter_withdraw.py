"""Letters can be withdrawn (作废): when, by whom and why; the number stays taken.

Revision ID: 0006_letter_withdraw
Revises: 0005_history_snapshot
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import models.types

revision: str = "0006_letter_withdraw"
down_revision: str | None = "0005_history_snapshot"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("letter") as batch:
        batch.add_column(
            sa.Column("withdrawn_at", models.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch.add_column(sa.Column("withdrawn_by", sa.Integer(), nullable=True))
        batch.add_column(
            sa.Column(
                "withdraw_reason", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True
            )
        )
        batch.create_foreign_key("fk_letter_withdrawn_by_user", "user", ["withdrawn_by"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("letter") as batch:
        batch.drop_constraint("fk_letter_withdrawn_by_user", type_="foreignkey")
        batch.drop_column("withdraw_reason")
        batch.drop_column("withdrawn_by")
        batch.drop_column("withdrawn_at")
