"""An agent's wall-time limit, enforced from outside."""

import contextlib
import dataclasses
import threading
from collections.abc import Callable

from coopbench.agents import AgentResult, AgentStatus


class WallClock:
    """An agent's wall-time limit, enforced from outside: past it the container is stopped,
    so whatever the agent is doing fails at once, and the outcome is LimitsExceeded."""

    def __init__(self, limit_s: float):
        self.limit_s = limit_s
        self.expired = False

    @contextlib.contextmanager
    def watching(self, stop: Callable[[], None]):
        def expire() -> None:
            self.expired = True
            stop()

        timer = threading.Timer(self.limit_s, expire)
        timer.daemon = True
        timer.start()
        try:
            yield
        finally:
            timer.cancel()

    def limit_result(self, result: AgentResult) -> AgentResult:
        return dataclasses.replace(
            result, status=AgentStatus.limits_exceeded,
            error=f"wall-time limit of {self.limit_s:g} s reached; the container was stopped")
