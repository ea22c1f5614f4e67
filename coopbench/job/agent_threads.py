"""Running a job's agents side by side, each in a thread, without ever waiting on them
past the job's own end."""

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor


def run_side_by_side[T, R](run_one: Callable[[T], R], items: Iterable[T]) -> list[R]:
    """``run_one`` on each item, each in its own thread; the results in order.

    The first exception (of an agent, or one raised into the caller: a time limit) ends the
    wait at once. The threads still running are not joined: an agent blocked in a model
    call cannot be interrupted, so the caller stops the job's containers instead, and each
    such thread ends at its next command."""
    items = list(items)
    pool = ThreadPoolExecutor(max_workers=max(len(items), 1), thread_name_prefix="agent")
    try:
        return list(pool.map(run_one, items))
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
