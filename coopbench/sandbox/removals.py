"""Removing a job's containers in the background, so that the job's next step (the
evaluation's container, the commit of its result) does not wait on the engine.

A removal takes the engine a few hundred milliseconds and changes nothing the job records:
the agent's result was read, the tests' output taken. So it runs in a thread, and the job
waits for it before it ends (``wait``): nothing a job started outlives it. A worker killed
meanwhile leaves labelled containers, which the cleanup removes (``sandbox.cleanup``).
"""

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


class Removals:
    """Removals under way in this process (a worker process runs one job at a time)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []

    def submit(self, name: str, remove: Callable[[], None]) -> None:
        thread = threading.Thread(target=self._run, args=(name, remove),
                                  name=f"remove-{name}"[:40], daemon=True)
        with self._lock:
            self._threads = [t for t in self._threads if t.is_alive()]
            self._threads.append(thread)
        thread.start()

    def wait(self) -> None:
        """Until every removal submitted so far has ended. Each is bounded by the Docker
        client's timeout (``docker_timeout_s``), so this wait is too."""
        with self._lock:
            threads, self._threads = self._threads, []
        for thread in threads:
            thread.join()

    @staticmethod
    def _run(name: str, remove: Callable[[], None]) -> None:
        try:
            remove()
        except Exception:  # labelled: the cleanup removes what is left
            log.exception("removing container %s failed", name)
