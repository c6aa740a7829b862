"""Region paths are indexed for prefix matches on PostgreSQL (0016_prefix, 0017_risk_path): every
jurisdiction and region filter is `path LIKE '<subtree>/%'`, which a plain B-tree index serves
only in a database whose collation is "C". The test cluster's is C.UTF-8, like most servers', so
these plans read the whole index (a filter, no index condition) without the pattern operator
class."""

import pytest
from sqlalchemy import Engine, column, create_engine, select, table, text
from sqlmodel import SQLModel

import models  # noqa: F401  (every table in the metadata)
from tests.factories import Org

# Every region path column of the schema: a table given one later is checked without a change
# here. The cohort table's path is the last part of its primary key (day, kind, path), read by
# day range first: it needs no index of its own.
PATHS = sorted(
    (t.name, c.name)
    for t in SQLModel.metadata.sorted_tables
    for c in t.columns
    if c.name in ("region_path", "path") and t.name != "case_cohort_day"
)


def test_every_region_path_column_has_a_pattern_index() -> None:
    assert ("case", "region_path") in PATHS and ("region", "path") in PATHS
    for name, path in PATHS:
        indexes = SQLModel.metadata.tables[name].indexes
        ops = [
            i.dialect_options["postgresql"]["ops"] for i in indexes if i.name == f"ix_{name}_{path}"
        ]
        assert ops == [{path: "varchar_pattern_ops"}], (name, path, ops)


@pytest.mark.parametrize(("name", "path"), PATHS)
def test_a_subtree_filter_is_an_index_range_on_postgresql(
    pg_url: str, name: str, path: str
) -> None:
    engine = create_engine(pg_url)
    # The filter exactly as the services write it (closeloop.org.regions and the others).
    stmt = select(column(path)).select_from(table(name))
    stmt = stmt.where(column(path).startswith("/D_1/S%2/", autoescape=True))
    with engine.connect() as conn:
        assert conn.execute(text("SHOW lc_collate")).scalar_one() not in ("C", "POSIX")
        conn.execute(text("SET enable_seqscan = off"))  # an index if one can serve
        compiled = stmt.compile(engine)
        plan = "\n".join(r[0] for r in conn.exec_driver_sql(f"EXPLAIN {compiled}", compiled.params))
    engine.dispose()
    assert f"ix_{name}_{path}" in plan
    # The range of the subtree, not a read of the whole index filtered afterwards.
    assert "Index Cond" in plan and "~>=~" in plan and "~<~" in plan, plan


def test_a_subtree_filter_finds_exactly_the_subtree(engine: Engine, org: Org) -> None:
    with engine.connect() as conn:
        paths = conn.execute(text("SELECT path FROM region")).scalars().all()
        assert len(paths) > 3
        for prefix in sorted({p for p in paths if p.count("/") <= 3}):
            found = (
                conn.execute(
                    select(column("path"))
                    .select_from(table("region"))
                    .where(column("path").startswith(prefix, autoescape=True))
                )
                .scalars()
                .all()
            )
            assert sorted(found) == sorted(p for p in paths if p.startswith(prefix))
