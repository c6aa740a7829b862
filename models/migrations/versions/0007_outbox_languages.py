"""A message keeps each language's subject and body (the in-app list shows the reader's).

Revision ID: 0007_outbox_languages
Revises: 0006_letter_withdraw
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_outbox_languages"
down_revision: str | None = "0006_letter_withdraw"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox_message") as batch:
        batch.add_column(sa.Column("languages", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox_message") as batch:
        batch.drop_column("languages")
