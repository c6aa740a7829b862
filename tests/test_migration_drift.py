"""The schema the migrations build is the schema the models declare: every table, column, index
and constraint, on both databases (alembic's own comparison; a partial index's predicate is not
compared by alembic, so `tests/reports/test_as_of_live.py` checks what those indexes select)."""

import importlib
import pkgutil

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine
from sqlmodel import SQLModel

import models


def test_the_migrations_build_the_models_schema(db_url: str) -> None:
    for module in pkgutil.iter_modules(models.__path__):
        importlib.import_module(f"models.{module.name}")
    engine = create_engine(db_url)  # the session's database, upgraded to head by its fixture
    try:
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    finally:
        engine.dispose()
    assert diff == []
