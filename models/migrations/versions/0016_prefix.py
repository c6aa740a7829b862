"""Region paths indexed for prefix matches on PostgreSQL.

Every jurisdiction and region filter reads a materialised path as a prefix (`region_path LIKE
'/D0/%'`). A plain B-tree index serves that only in a database whose collation is "C"; in any
other (C.UTF-8, en_US.UTF-8, zh_CN.UTF-8 …) PostgreSQL read the whole index and filtered it:
one district's count in a city of 3,000,000 cases scanned all 3,000,000 entries (~360 ms instead
of ~80 ms). The same indexes are rebuilt with the pattern operator class, which serves both the
prefix match and equality. SQLite is unchanged (its indexes have no operator classes).

Revision ID: 0016_prefix
Revises: 0015_dash
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0016_prefix"
down_revision: str | None = "0015_dash"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PATHS = (
    ("case", "region_path"),
    ("enterprise", "region_path"),
    ("inspection", "region_path"),
    ("risk_point", "region_path"),
    ("region", "path"),
)


def _rebuild(ops: dict[str, str] | None) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, column in PATHS:
        name = f"ix_{table}_{column}"
        op.drop_index(name, table_name=table)
        op.create_index(name, table, [column], postgresql_ops={column: ops[column]} if ops else {})


def upgrade() -> None:
    _rebuild({"region_path": "varchar_pattern_ops", "path": "varchar_pattern_ops"})


def downgrade() -> None:
    _rebuild(None)
