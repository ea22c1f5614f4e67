"""What every command shares: its settings and the console."""

import sys
from typing import TextIO

import typer
from rich.console import Console

from coopbench.config import Settings, load_settings

# Off a terminal (a pipe, a file, a CI log) rich would assume 80 columns and shrink tables
# to fit, cutting values to "0.…"; there every value prints whole, however long the line.
# Decided by isatty(), not by rich: FORCE_COLOR makes rich take a CI log for a terminal.
ON_TERMINAL = sys.stdout.isatty()
UNBOUNDED_WIDTH = 100_000


def _console(stream: TextIO) -> Console:
    size = {} if stream.isatty() else {"width": UNBOUNDED_WIDTH, "height": 25}
    return Console(stderr=stream is sys.stderr, **size)


console = _console(sys.stdout)
err_console = _console(sys.stderr)


def settings_from(ctx: typer.Context) -> Settings:
    flags = dict(ctx.find_root().obj or {})
    return load_settings(flags.pop("config", None), **flags)
