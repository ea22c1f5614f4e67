"""The ``coopbench`` command line: one module per command, listed in ``COMMANDS``.

Every command reads the same settings (see ``coopbench.config``). A ``CoopbenchError``
becomes its message on stderr and its ``exit_code``; anything else is a bug and keeps its
traceback.
"""

import gc
import importlib
import logging
import sys
from pathlib import Path
from typing import Annotated

import typer
from typer.core import TyperCommand, TyperGroup

from coopbench.errors import CoopbenchError

# A command's module is imported only when that command runs. Between them the modules
# bring in Docker, Celery, litellm, cooperbench and the store (seconds of imports), while
# `coopbench --help` needs only names and one line each, and `coopbench status` only the
# store. Name -> (module in coopbench.cli, the first paragraph of the command's help;
# tests/cli/test_startup.py keeps the two equal).
COMMANDS = {
    "tasks": ("tasks", "List the pairs (repo, task, two features) that the selection would run."),
    "enqueue": ("enqueue", "Enqueue one job per (pair, setting, repeat). Re-enqueueing adds only what is missing."),
    "evaluate": ("evaluate", "Queue one evaluation per pair whose agents finished; agents are never re-run."),
    "gold-check": ("gold_check", "Merge the two gold patches of every selected pair, as distributed jobs; "
                   "write the report."),
    "cancel": ("control", "Stop a run: queued jobs are not started, running ones stop their containers "
               "within a third of the lease. `coopbench retry` resumes it."),
    "retry": ("control", "Queue the run's failed, failed_infra and cancelled jobs again (earlier attempts "
              "are kept; a job whose agents finished is only evaluated again)."),
    "status": ("status", "Jobs per state and setting, running and stuck jobs, errors, cost, ETA and workers."),
    "export": ("export", "Write results-manifest.json and per-job result/patch/eval files for a run."),
    "report": ("report", "Write DIR/report.html (readable offline, no JavaScript) and its PNG plots for a run."),
    "view": ("view", "A page per job, its agents side by side: served on 127.0.0.1, or written with --out."),
    "demo": ("demo", "Run the embedded demo dataset end to end on this host with the oracle agent."),
    "settings": ("settings_cmd", "Show every setting with its env var, resolved value and meaning."),
    "sweep": ("sweep", "Re-publish running jobs whose lease expired and queued jobs with no message in "
              "the broker (never published, or lost), and the same for standalone evaluations."),
    "images": ("images", "Task images."),
    "db": ("db", "Manage the SQL store."),
}


class LazyCommand(TyperCommand):
    """A command known by its name and help line until it runs: then its module is imported
    and the real command parses the arguments (``--help`` included) and runs."""

    def __init__(self, name: str, module: str, line: str) -> None:
        super().__init__(name, short_help=line)  # a short help is listed whole, never cut to "..."
        self.module = module

    def make_context(self, info_name, args, parent=None, **extra):
        return load_command(self.name, self.module).make_context(info_name, args, parent=parent, **extra)


class LazyGroup(TyperGroup):
    """The root command: every entry of ``COMMANDS``, none of them imported yet."""

    def __init__(self, **attrs) -> None:
        super().__init__(**attrs)
        for name, (module, line) in COMMANDS.items():
            self.add_command(LazyCommand(name, module, line))


def load_command(name: str, module: str):
    """The real command: what its module's ``register`` adds to an app."""
    commands = typer.Typer()
    _import_without_collecting(f"coopbench.cli.{module}").register(commands)
    return typer.main.get_group(commands).commands[name]


def _import_without_collecting(module: str):
    """Import with the cyclic garbage collector paused. An import allocates hundreds of
    thousands of objects that live as long as the process (SQLAlchemy, pydantic): the
    collections they set off find nothing to free and cost about a sixth of a command's
    start. Frozen afterwards, those objects are never scanned again."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return importlib.import_module(module)
    finally:
        gc.freeze()
        if was_enabled:
            gc.enable()


def load_all() -> dict:
    """Every real command by name (imports every command's module)."""
    return {name: load_command(name, module) for name, (module, _) in COMMANDS.items()}


app = typer.Typer(
    name="coopbench",
    help="Run the CooperBench benchmark on Celery workers across many hosts.",
    cls=LazyGroup,
    rich_markup_mode=None,  # click's plain help: typer's rich help would import rich.markdown
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def global_options(
    ctx: typer.Context,
    config: Annotated[Path | None, typer.Option(
        "--config", help="TOML config file (default ./coopbench.toml; env COOPBENCH_CONFIG).")] = None,
    database_url: Annotated[str | None, typer.Option(
        help="Store URL (env COOPBENCH_DATABASE_URL; default sqlite:///coopbench.db).")] = None,
    broker_url: Annotated[str | None, typer.Option(
        help="Celery broker URL (env COOPBENCH_BROKER_URL; default redis://localhost:6379/0).")] = None,
    bus_url: Annotated[str | None, typer.Option(
        help="Redis URL of the agents' bus (env COOPBENCH_BUS_URL; default: the broker).")] = None,
) -> None:
    """Run the CooperBench benchmark on Celery workers across many hosts."""
    # Read by coopbench.cli.common.settings_from in the command that runs.
    ctx.obj = {"config": config, "database_url": database_url, "broker_url": broker_url,
               "bus_url": bus_url}


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # litellm warns on stderr about things a user cannot act on (custom prices registered);
    # its errors still show, and ours are the one-line "error: ..." below.
    logging.getLogger("LiteLLM").setLevel(logging.ERROR)
    try:
        app()
    except CoopbenchError as error:
        typer.secho(f"error: {error}", err=True, fg=typer.colors.RED)
        sys.exit(error.exit_code)
