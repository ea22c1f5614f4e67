"""The ``coopbench`` command line: one module per command, registered here.

Every command reads the same settings (see ``coopbench.config``). A ``CoopbenchError``
becomes its message on stderr and its ``exit_code``; anything else is a bug and keeps its
traceback.
"""

import logging
import sys

import typer

from coopbench.errors import CoopbenchError

app = typer.Typer(
    name="coopbench",
    help="Run the CooperBench benchmark on Celery workers across many hosts.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _register_commands() -> None:
    # Imported here so that `import coopbench.cli` stays cheap and side-effect free.
    from coopbench.cli import (
        control,
        db,
        demo,
        enqueue,
        evaluate,
        export,
        gold_check,
        images,
        report,
        settings_cmd,
        status,
        sweep,
        tasks,
    )
    from coopbench.cli.common import global_options

    app.callback()(global_options)
    for module in (tasks, enqueue, evaluate, gold_check, control, status, export, report, demo,
                   images, db, settings_cmd, sweep):
        module.register(app)


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # litellm warns on stderr about things a user cannot act on (custom prices registered);
    # its errors still show, and ours are the one-line "error: ..." below.
    logging.getLogger("LiteLLM").setLevel(logging.ERROR)
    _register_commands()
    try:
        app()
    except CoopbenchError as error:
        typer.secho(f"error: {error}", err=True, fg=typer.colors.RED)
        sys.exit(error.exit_code)
