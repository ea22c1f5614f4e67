"""The commands that read a run, pointed at a mistyped SQLite path or at a database with no
coopbench schema: exit 2, one line naming the database and what to do, nothing created."""

import pytest

READING_COMMANDS = [
    ["status", "--run", "r"],
    ["export", "--run", "r", "--out", "out"],
    ["report", "--run", "r", "--out", "out"],
    ["view", "--run", "r", "--out", "out"],
    ["images", "list", "--run", "r"],
]


@pytest.mark.parametrize("command", READING_COMMANDS, ids=lambda c: c[0])
def test_a_mistyped_sqlite_path_is_refused_and_not_created(cli, tmp_path, command):
    path = tmp_path / "typo.db"
    result = cli(*command, COOPBENCH_DATABASE_URL=f"sqlite:///{path}")
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines() == [
        f"error: no coopbench store at {path} (SQLite): check COOPBENCH_DATABASE_URL / "
        "--database-url; `coopbench enqueue` or `coopbench db upgrade` creates one"]
    assert not path.exists() and not (tmp_path / "out").exists()


@pytest.mark.parametrize("command", READING_COMMANDS, ids=lambda c: c[0])
def test_a_database_without_the_schema_is_refused(cli, pg_url, tmp_path, command):
    result = cli(*command, COOPBENCH_DATABASE_URL=pg_url)
    assert result.returncode == 2, result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("error: the database postgresql") and "holds no coopbench store" in line
    assert not (tmp_path / "out").exists()
