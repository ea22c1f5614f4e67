"""``coopbench view --run NAME [--out DIR] [--port N]``: a page per job with its agents side
by side, served on 127.0.0.1 or written for offline use."""

from pathlib import Path
from typing import Annotated

import typer

from coopbench.cli.common import console, settings_from
from coopbench.store import Store

HOST = "127.0.0.1"  # the pages show prompts and code: never served beyond this machine


def view(
    ctx: typer.Context,
    run: Annotated[str, typer.Option("--run", help="Run name.")],
    out: Annotated[Path | None, typer.Option(
        "--out", help="Write the pages into DIR (index.html, jobs/<id>.html) instead of serving them.")] = None,
    port: Annotated[int, typer.Option("--port", help="Port to serve on, on 127.0.0.1 (0: any free one).")] = 8765,
) -> None:
    """A page per job, its agents side by side: served on 127.0.0.1, or written with --out.

    Each job's page shows its agents' steps in columns, a line per message from the step that
    sent it to the step that received it, the merge, each feature's tests and the patches
    (conflicting hunks marked); the run's page lists the jobs with filters."""
    # Jinja and the exporter are imported only here: the CLI's start stays light.
    from coopbench.view.pages import write_pages
    from coopbench.view.server import make_server

    store = Store.open_existing(settings_from(ctx))
    if out is not None:
        index, jobs = write_pages(store, run, out)
        console.out(f"wrote {index} and {jobs} job pages")
        return
    server = make_server(store, run, HOST, port)
    console.out(f"serving run {run} on http://{HOST}:{server.server_address[1]}/ (Ctrl-C stops)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def register(app: typer.Typer) -> None:
    app.command("view")(view)
