"""Running a job's agents side by side, each in a thread, without ever waiting on them
past the job's own end."""

import dataclasses
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor

from coopbench.agents import AgentResult
from coopbench.agents.provider_limits import waiting


def run_side_by_side[T](run_one: Callable[[T], AgentResult], items: Iterable[T]) -> list[AgentResult]:
    """``run_one`` on each item, each in its own thread; the results in order, each with the
    time its model calls waited at the provider gate (``provider_limits``).

    The first exception (of an agent, or one raised into the caller: a time limit) ends the
    wait at once. The threads still running are not joined: an agent blocked in a model
    call cannot be interrupted, so the caller stops the job's containers instead, and each
    such thread ends at its next command."""
    items = list(items)

    def run_counting_waits(item: T) -> AgentResult:
        with waiting() as waited:
            result = run_one(item)
        return dataclasses.replace(result, provider_wait_s=round(waited.seconds, 3))

    pool = ThreadPoolExecutor(max_workers=max(len(items), 1), thread_name_prefix="agent")
    try:
        return list(pool.map(run_counting_waits, items))
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


class CountDown:
    """Calls ``then`` (if given) when ``count`` has been called ``n`` times, from any thread:
    when every agent's container has started."""

    def __init__(self, n: int, then: Callable[[], None] | None):
        self._left, self._then = n, then
        self._lock = threading.Lock()

    def count(self) -> None:
        with self._lock:
            self._left -= 1
            done = self._left == 0
        if done and self._then is not None:
            self._then()
