"""The pages as files, for offline use: ``<out>/index.html`` (the run) and
``<out>/jobs/<job id>.html`` (one per job whose agents finished). Links are relative, so the
folder can be copied anywhere; each file is written whole (``export.files``), the run page
last, so it never links to a page not yet written."""

import logging
from pathlib import Path

from coopbench.export.files import write_atomic
from coopbench.store import Store
from coopbench.view.job_data import iter_job_pages
from coopbench.view.render import render_job_page, render_run_page
from coopbench.view.run_rows import load_run_listing

log = logging.getLogger(__name__)

RUN_PAGE = "index.html"
JOBS_DIR = "jobs"


def job_page_name(job_id: str) -> str:
    return f"{JOBS_DIR}/{job_id}.html"


def write_pages(store: Store, run_name: str, out: Path) -> tuple[Path, int]:
    """Write the run's pages into ``out``; returns the run page's path and the job pages written."""
    listing = load_run_listing(store, run_name)  # ConfigError (no such run, no jobs) first
    written = 0
    for page in iter_job_pages(store, run_name):
        write_atomic(out / job_page_name(page.row.job_id), render_job_page(page))
        written += 1
    index = out / RUN_PAGE
    write_atomic(index, render_run_page(listing))
    log.info("run %s: %d job pages written to %s", run_name, written, out)
    return index, written
