"""Self-service administration: regions, units and categories can be deactivated, units belong to
a district, a reset password must be changed at the next login, filing honours idempotency keys, and a report being generated shows its progress.

Revision ID: 0008_self_service
Revises: 0007_outbox_languages
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import models.types

revision: str = "0008_self_service"
down_revision: str | None = "0007_outbox_languages"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _active() -> sa.Column:
    return sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true())


def upgrade() -> None:
    with op.batch_alter_table("region") as batch:
        batch.add_column(_active())
    with op.batch_alter_table("user") as batch:
        batch.add_column(
            sa.Column(
                "must_change_password", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
    with op.batch_alter_table("category") as batch:
        batch.add_column(_active())
    with op.batch_alter_table("unit") as batch:
        batch.add_column(_active())
        batch.add_column(
            sa.Column("region_code", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True)
        )
        batch.create_foreign_key("fk_unit_region_code_region", "region", ["region_code"], ["code"])
        batch.create_index("ix_unit_region_code", ["region_code"])
    with op.batch_alter_table("report") as batch:
        batch.add_column(
            sa.Column("progress", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=True)
        )
        batch.add_column(
            sa.Column("error", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True)
        )
    op.create_table(
        "idempotency_key",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("request_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("response", sa.JSON(), nullable=False),
        sa.Column("created_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"]),
        sa.ForeignKeyConstraint(["case_id"], ["case.id"]),
        sa.PrimaryKeyConstraint("user_id", "key"),
    )
    op.create_index("ix_idempotency_key_created_at", "idempotency_key", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_idempotency_key_created_at", table_name="idempotency_key")
    op.drop_table("idempotency_key")
    with op.batch_alter_table("report") as batch:
        batch.drop_column("error")
        batch.drop_column("progress")
    with op.batch_alter_table("unit") as batch:
        batch.drop_index("ix_unit_region_code")
        batch.drop_constraint("fk_unit_region_code_region", type_="foreignkey")
        batch.drop_column("region_code")
        batch.drop_column("active")
    with op.batch_alter_table("category") as batch:
        batch.drop_column("active")
    with op.batch_alter_table("user") as batch:
        batch.drop_column("must_change_password")
    with op.batch_alter_table("region") as batch:
        batch.drop_column("active")
