"""Risk reports' region path indexed for prefix matches.

The risk figures and every reader's scope filter risk reports by `region_path LIKE '<subtree>/%'`
(closeloop.safety.risk_figures, risk_reports.scope), like the other region paths that 0016_prefix
indexed; this one had no index at all, so each such read scanned the whole table. Its index uses
the pattern operator class on PostgreSQL (models.types.path_index), a plain index on SQLite.

Revision ID: 0017_risk_path
Revises: 0016_prefix
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0017_risk_path"
down_revision: str | None = "0016_prefix"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_risk_report_region_path",
        "risk_report",
        ["region_path"],
        postgresql_ops={"region_path": "varchar_pattern_ops"},
    )


def downgrade() -> None:
    op.drop_index("ix_risk_report_region_path", table_name="risk_report")
