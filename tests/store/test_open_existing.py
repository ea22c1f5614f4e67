"""A command that only reads a store refuses, with one line that names the problem and
creates nothing, a URL that holds no coopbench store or one of another schema revision."""

from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import text

from coopbench.config import Settings
from coopbench.errors import ConfigError
from coopbench.store import Store
from coopbench.store.engine import _alembic_config, head_revision


def test_head_revision_is_alembics_head():
    assert head_revision() == ScriptDirectory.from_config(_alembic_config()).get_current_head()


def test_a_current_store_opens(store):
    Store.open_existing(Settings(database_url=store.url)).dispose()


def test_an_empty_database_is_no_store(database_url, tmp_path):
    if database_url.startswith("sqlite"):
        (tmp_path / "store.db").touch()  # the file is there, the schema is not
    with pytest.raises(ConfigError, match="holds no coopbench store .* creates one"):
        Store.open_existing(Settings(database_url=database_url))


def test_a_missing_sqlite_file_is_refused_and_not_created(tmp_path: Path):
    path = tmp_path / "typo" / "store.db"
    with pytest.raises(ConfigError, match=f"no coopbench store at {path}"):
        Store.open_existing(Settings(database_url=f"sqlite:///{path}"))
    assert not path.exists() and not path.parent.exists()


@pytest.mark.parametrize("revision, problem", [
    ("0001", "has schema revision 0001 and this coopbench reads .*: run `coopbench db upgrade` first"),
    ("9999", r"migrated by a newer coopbench \(schema revision 9999; .*\): upgrade coopbench here"),
])
def test_a_store_of_another_revision_is_refused(store, revision, problem):
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = :r"), {"r": revision})
    with pytest.raises(ConfigError, match=problem):
        Store.open_existing(Settings(database_url=store.url))
