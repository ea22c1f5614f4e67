"""``coopbench settings``: every setting, its environment variable and its resolved value."""

import typer
from rich.markup import escape
from rich.table import Table

from coopbench.cli.common import console, settings_from
from coopbench.config import settings_table


def show_settings(ctx: typer.Context) -> None:
    """Show every setting with its env var, resolved value and meaning."""
    resolved = settings_from(ctx)
    table = Table()
    for column in ("setting", "environment variable", "value", "meaning"):
        table.add_column(column)
    for name, variable, description in settings_table():
        table.add_row(name, variable, escape(str(getattr(resolved, name))), escape(description))
    console.print(table)


def register(app: typer.Typer) -> None:
    app.command("settings")(show_settings)
