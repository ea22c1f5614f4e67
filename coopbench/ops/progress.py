"""Counting a run's jobs by state, and a live progress bar until they are all finished."""

import time
from collections import Counter
from collections.abc import Callable

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy import func, select

from coopbench.store import Job, Store
from coopbench.store.states import FINISHED_STATES


def state_counts(store: Store, run: str) -> Counter:
    with store.session() as session:
        rows = session.execute(
            select(Job.state, func.count()).where(Job.run_name == run).group_by(Job.state)
        ).all()
    return Counter({state: count for state, count in rows})


def wait_for_run(store: Store, run: str, console: Console, timeout_s: float,
                 still_alive: Callable[[], bool] = lambda: True, poll_s: float = 0.5) -> Counter:
    """Show progress until every job is finished; return the final counts.

    Stops early (returning what it has) when ``still_alive`` says the workers are gone, or
    after ``timeout_s``.
    """
    deadline = time.monotonic() + timeout_s
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("{task.fields[states]}"), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=False) as progress:
        bar = progress.add_task(f"run {run}", total=None, states="")
        while True:
            counts = state_counts(store, run)
            finished = sum(counts[s] for s in FINISHED_STATES)
            states = " ".join(f"{s}={n}" for s, n in sorted(counts.items()))
            progress.update(bar, total=sum(counts.values()), completed=finished, states=states)
            if finished == sum(counts.values()) or time.monotonic() > deadline or not still_alive():
                return counts
            time.sleep(poll_s)
