"""``coopbench export --run NAME --out DIR``: manifest and CooperBench-layout files."""

from pathlib import Path
from typing import Annotated

import typer

from coopbench.cli.common import console, settings_from
from coopbench.export.run_export import MANIFEST_NAME, export_run
from coopbench.export.summary_table import settings_table
from coopbench.store import Store


def export(
    ctx: typer.Context,
    run: Annotated[str, typer.Option("--run", help="Run name.")],
    out: Annotated[Path, typer.Option("--out", help="Directory to write into.")] = Path("results"),
    atif: Annotated[bool, typer.Option(
        help="Also write each agent's trajectory in ATIF (*.atif.json, job.atif.json); "
        "--no-atif saves about a third of a large export's time.")] = True,
) -> None:
    """Write results-manifest.json and per-job result/patch/eval files for a run."""
    store = Store.open_existing(settings_from(ctx))
    manifest = export_run(store, run, out, atif=atif)
    console.print(settings_table(manifest))
    console.print(f"wrote {out / MANIFEST_NAME} and {len(manifest['jobs'])} job entries")


def register(app: typer.Typer) -> None:
    app.command("export")(export)
