"""The CLI starts fast: `--help` imports no command module, `status` only the store.

Measured by bench/cli_startup.py; here, what keeps it fast: the modules a start imports.
"""

import json
import subprocess
import sys

import pytest

from coopbench.cli import COMMANDS, load_all
from coopbench.store import Run, Store, utcnow

# Seconds of imports between them; a start that needs none must not pay for them.
HEAVY = ("litellm", "docker", "celery", "kombu", "cooperbench", "minisweagent", "matplotlib",
         "alembic", "redis", "yaml", "jinja2")


def started_modules(*args: str, env: dict | None = None, cwd=None) -> tuple[subprocess.CompletedProcess, set[str]]:
    """Run ``coopbench ARGS`` in a fresh interpreter; its output and the top-level packages
    it had imported by the end."""
    code = ("import json, sys\n"
            "from coopbench.cli import main\n"
            f"sys.argv = ['coopbench', *{list(args)!r}]\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "print(json.dumps(sorted({name.split('.')[0] for name in sys.modules})), file=sys.stderr)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                            env=env, cwd=cwd)
    return result, set(json.loads(result.stderr.strip().splitlines()[-1]))


def test_help_imports_no_command_module():
    result, modules = started_modules("--help")
    assert "status" in result.stdout and "gold-check" in result.stdout
    assert not modules & {*HEAVY, "sqlalchemy", "pydantic", "pydantic_settings"}


def test_help_lists_every_command_with_its_whole_line():
    result, _ = started_modules("--help")
    listing = result.stdout.split("Commands:")[1]
    assert "..." not in listing  # click would cut a help line to fit
    for name, (_, line) in COMMANDS.items():
        assert f"{name} {line}" in " ".join(listing.split())


def test_status_imports_the_store_and_nothing_heavier(tmp_path):
    url = f"sqlite:///{tmp_path / 'store.db'}"
    store = Store(url)
    store.upgrade()
    with store.session() as session, session.begin():
        session.add(Run(name="tiny", created_at=utcnow(), dataset="/d", agent="oracle", model=None,
                        settings=["solo"], step_limit=0, cost_limit_usd=0.0,
                        image_template="img-{slug}:task{task_id}", config={}))
    store.dispose()
    env = {"PATH": "/usr/bin:/bin", "COOPBENCH_DATABASE_URL": url}
    result, modules = started_modules("status", "--run", "tiny", env=env, cwd=tmp_path)
    assert "run tiny  agent oracle" in result.stdout, result.stderr
    assert "sqlalchemy" in modules
    # alembic still comes with coopbench.store.engine (migrations): not the CLI's to drop.
    assert not modules & (set(HEAVY) - {"alembic"})


def test_each_listed_line_is_the_first_paragraph_of_the_commands_help():
    for name, command in load_all().items():
        first = " ".join((command.help or "").split("\n\n")[0].split())
        assert first == COMMANDS[name][1], name


@pytest.mark.parametrize("args,message", [(["statu"], "Did you mean 'status'?"),
                                          (["status"], "Missing option '--run'")])
def test_mistakes_are_usage_errors(args, message):
    result, _ = started_modules(*args)
    assert message in result.stderr


def test_a_command_is_imported_with_the_collector_paused_and_then_restored():
    """The collector is off only while a command's module is imported (a long-running
    command, `status --watch` or `view`, collects as usual), and the objects of the
    imports are frozen out of later collections."""
    code = ("import gc\n"
            "from coopbench.cli import load_command\n"
            "frozen_before = gc.get_freeze_count()\n"
            "load_command('status', 'status')\n"
            "print(gc.isenabled(), gc.get_freeze_count() > frozen_before + 10_000)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120, check=True)
    assert result.stdout.split() == ["True", "True"]
