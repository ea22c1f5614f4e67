"""``coopbench tasks`` on the real CooperBench fixtures."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from coopbench.cli import tasks
from coopbench.dataset.tasks import discover_pairs
from coopbench.errors import DatasetError

REPO_ROOT = Path(__file__).resolve().parents[2]
FIXTURES = (REPO_ROOT / "../shared/fixtures/cooperbench").resolve()


@pytest.fixture
def invoke():
    """Run ``tasks`` on an app of its own: the sibling command modules may not exist yet."""
    app = typer.Typer()
    tasks.register(app)

    @app.callback()
    def root() -> None:
        """A callback keeps `tasks` a subcommand, as in the real app."""

    def run(*args: str):
        return CliRunner().invoke(app, ["tasks", "--dataset", str(FIXTURES), *args])

    return run


@pytest.mark.parametrize(
    "args,selection",
    [
        ([], {}),
        (["--task", "0"], {"task_id": 0}),
        (["--repo", "go_chi_task"], {"repo": "go_chi_task"}),
        (["--features", "2,1"], {"features": (2, 1)}),
        (["--subset", "lite", "--task", "0"], {"subset": "lite", "task_id": 0}),
        (
            ["--subset", "flash", "--repo", "samuelcolvin_dirty_equals_task", "--task", "43"],
            {"subset": "flash", "repo": "samuelcolvin_dirty_equals_task", "task_id": 43},
        ),
    ],
)
def test_json_is_the_discovered_pairs(invoke, args, selection):
    result = invoke(*args, "--json")
    assert result.exit_code == 0, result.output
    expected = [pair.as_dict() for pair in discover_pairs(FIXTURES, **selection)]
    assert json.loads(result.stdout) == expected


def test_task_0_gives_the_45_tiktoken_pairs(invoke):
    records = json.loads(invoke("--task", "0", "--json").stdout)
    assert len(records) == 45
    assert {(r["repo"], r["task_id"]) for r in records} == {("openai_tiktoken_task", 0)}


def test_features_keep_the_given_order(invoke):
    records = json.loads(invoke("--task", "26", "--features", "2,1", "--json").stdout)
    assert records == [{"repo": "go_chi_task", "task_id": 26, "features": [2, 1]}]


def test_table_lists_pairs_and_counts_them(invoke):
    result = invoke("--subset", "flash", "--task", "0")
    assert result.exit_code == 0, result.output
    assert "openai_tiktoken_task" in result.stdout and "3,6" in result.stdout
    assert "3 pairs (1 tasks, 1 repos)" in result.stdout


@pytest.mark.parametrize(
    "args,names",
    [
        (["--subset", "lite"], "lite.json"),
        (["--subset", "nothere"], "nothere"),
        (["--task", "43", "--features", "1,12"], "task43 has no feature12"),
        (["--features", "1"], "--features"),
        (["--repo", "go_chi"], "go_chi_task"),
    ],
)
def test_malformed_input_raises_dataset_error(invoke, args, names):
    result = invoke(*args)
    assert result.exit_code != 0
    assert isinstance(result.exception, DatasetError)
    assert names in str(result.exception)


# --- the real console script ----------------------------------------------------------------


def _console_script() -> str:
    """``coopbench`` of this venv, after checking that the full app can be assembled."""
    check = subprocess.run(
        [sys.executable, "-c", "import coopbench.cli as c; c.load_all()"],
        capture_output=True,
        text=True,
    )
    if "ImportError" in check.stderr or "ModuleNotFoundError" in check.stderr:
        last_line = check.stderr.strip().splitlines()[-1]
        pytest.skip(f"coopbench.cli.load_all() cannot import every command: {last_line}")
    assert check.returncode == 0, check.stderr
    search_path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    script = shutil.which("coopbench", path=search_path)
    if script is None:
        pytest.skip("the coopbench console script is not installed")
    return script


def test_console_script_json():
    result = subprocess.run(
        [_console_script(), "tasks", "--dataset", str(FIXTURES), "--json"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [pair.as_dict() for pair in discover_pairs(FIXTURES)]


def test_console_script_malformed_input_is_one_error_line():
    result = subprocess.run(
        [_console_script(), "tasks", "--dataset", str(FIXTURES), "--subset", "lite"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "lite.json" in lines[0]
    assert "Traceback" not in result.stderr
