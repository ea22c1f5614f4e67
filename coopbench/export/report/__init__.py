"""``coopbench report``: a run as an HTML page with plots, readable offline.

``<out>/report.html`` and, next to it, one ``report-<plot>.png`` per plot. The images are
files rather than ``data:`` URIs: the page stays small and quick to open with thousands of
job rows, each plot can be reused on its own (a slide, an issue), and the directory is the
unit to copy, as with ``coopbench export``. Every file is written to a temporary name and
renamed, the page last, so a page on disk only ever refers to complete images.

``data`` reads the store (the exporter's FinishedJob list and manifest figures), ``plots``
draws, ``html`` lays out.
"""

import logging
from pathlib import Path

from coopbench.export.files import write_atomic
from coopbench.export.report.data import load_report_data
from coopbench.export.report.html import render_page
from coopbench.store import Store

log = logging.getLogger(__name__)

PAGE_NAME = "report.html"


def image_name(plot: str) -> str:
    return f"report-{plot}.png"


def write_report(store: Store, run_name: str, out: Path) -> Path:
    """Write the run's report into ``out``; returns the page's path."""
    # matplotlib only here: the viewer imports this package's data and tables, not its plots.
    from coopbench.export.report.plots import PLOTS, to_png

    data = load_report_data(store, run_name)  # ConfigError before anything is written
    images: dict[str, tuple[str, int, int] | str] = {}
    for name, draw in PLOTS.items():
        drawn = draw(data)
        if isinstance(drawn, str):
            images[name] = drawn  # why there is no plot, shown on the page
            continue
        png = to_png(drawn)
        write_atomic(out / image_name(name), png.data)
        images[name] = (image_name(name), png.width, png.height)
    page = out / PAGE_NAME
    write_atomic(page, render_page(data, images).encode("utf-8"))
    for name, value in images.items():  # an image of an earlier report the page no longer shows
        if isinstance(value, str):
            (out / image_name(name)).unlink(missing_ok=True)
    log.info("report of run %s written to %s", run_name, page)
    return page

