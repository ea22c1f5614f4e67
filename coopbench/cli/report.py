"""``coopbench report --run NAME --out DIR``: the run as an HTML page with plots."""

from pathlib import Path
from typing import Annotated

import typer

from coopbench.cli.common import console, settings_from
from coopbench.store import Store


def report(
    ctx: typer.Context,
    run: Annotated[str, typer.Option("--run", help="Run name.")],
    out: Annotated[Path, typer.Option("--out", help="Directory to write into.")] = Path("report"),
) -> None:
    """Write DIR/report.html (readable offline, no JavaScript) and its PNG plots for a run."""
    from coopbench.export.report import write_report  # matplotlib is imported only here

    store = Store.open_existing(settings_from(ctx))
    page = write_report(store, run, out)
    console.out(f"wrote {page}")


def register(app: typer.Typer) -> None:
    app.command("report")(report)
