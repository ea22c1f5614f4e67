"""The Alembic migrations build exactly the schema the models describe, on both databases."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from coopbench.store.models import Base


def test_migrations_match_the_models(store):
    with store.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    if store.engine.dialect.name == "sqlite":
        # SQLite cannot add a foreign key to an existing table; 0002 adds it on PostgreSQL only.
        differences = [d for d in differences
                       if not (d[0] == "add_fk" and d[1].parent.name == "artifacts")]
    assert differences == []


def test_upgrade_is_idempotent(store):
    store.upgrade()
    store.upgrade()
    assert {"runs", "jobs", "attempts", "evaluations", "artifacts"} <= set(
        inspect(store.engine).get_table_names())
