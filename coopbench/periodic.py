"""The one way coopbench does something every N seconds in the background: a daemon thread
that calls ``tick`` until stopped (heartbeats, lock renewals, the container cleanup, worker
presence).

A tick that raises is logged and the next one comes on time: a store, Redis or Docker blip
must not end a heartbeat. A tick that returns ``False`` ends the thread (a lost lease).
"""

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


class PeriodicThread:
    def __init__(self, name: str, interval_s: float, tick: Callable[[], bool | None],
                 run_first: bool = False):
        """``run_first``: tick at once, then every ``interval_s``; else wait first."""
        self.name, self.interval_s, self.tick, self.run_first = name, interval_s, tick, run_first
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)

    def start(self) -> "PeriodicThread":
        self._thread.start()
        return self

    def stop(self, timeout_s: float | None = 10) -> None:
        """Stop ticking; wait up to ``timeout_s`` for a tick under way (None: as long as it takes)."""
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout_s)

    def __enter__(self) -> "PeriodicThread":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop(None)

    def _loop(self) -> None:
        if not self.run_first and self._stop.wait(self.interval_s):
            return
        while True:
            try:
                if self.tick() is False:
                    return
            except Exception:
                log.exception("%s: a periodic pass failed; next in %g s", self.name, self.interval_s)
            if self._stop.wait(self.interval_s):
                return
