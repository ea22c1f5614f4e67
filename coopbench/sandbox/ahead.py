"""A container started in the background before it is needed.

A job's evaluation runs in a fresh container of the task image, and its create and start
(a few hundred milliseconds of the engine's time) used to sit on the job's critical path,
after the agents. Started while the agents work, the same fresh container is ready when
the evaluation begins. Nothing runs in it before then but what its user would run first
(``prepare``: for the evaluation, upstream's ``mkdir -p /patches``), so what the evaluation
sees is what a container started at that moment would show.

It starts once ``start_now`` is called (when the agents' own containers have started: the
engine starts one container at a time at best, so an earlier start would delay theirs), or
after ``delay_s`` for agents that give no such sign, or when it is taken, whichever comes
first. It is an optimisation, never a condition: if it could not be started, the caller
starts one itself, exactly as before.
"""

import logging
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager, ExitStack

from coopbench.sandbox.containers import Sandbox

log = logging.getLogger(__name__)


class SandboxAhead:
    """``open_box()`` is entered in a thread of its own (when: see above); ``take()`` hands
    over the open sandbox and the stack that removes it, or None if it could not be started.
    Used as a context manager, it removes the container on exit unless it was taken."""

    def __init__(self, name: str, open_box: Callable[[], AbstractContextManager[Sandbox]],
                 delay_s: float = 0.0, prepare: Callable[[Sandbox], None] | None = None):
        self.name = name
        self._stack = ExitStack()
        self._box: Sandbox | None = None
        self._go, self._closed = threading.Event(), False
        # Bounded: every call open_box makes is bounded by the Docker client's timeout.
        self._thread = threading.Thread(target=self._open, args=(open_box, delay_s, prepare),
                                        name=f"ahead-{name}"[:40], daemon=True)
        self._thread.start()

    def start_now(self) -> None:
        self._go.set()

    def _open(self, open_box: Callable[[], AbstractContextManager[Sandbox]], delay_s: float,
              prepare: Callable[[Sandbox], None] | None) -> None:
        self._go.wait(delay_s)
        if self._closed:  # closed before it started: nothing to start
            return
        try:
            box = self._stack.enter_context(open_box())
            if prepare is not None:  # what its user would run first, done here too
                prepare(box)
            self._box = box
        except Exception as error:  # the evaluation will start its own, and meet the cause
            log.warning("container %s was not started ahead: %s", self.name, error)
            self._stack.close()

    def take(self) -> tuple[Sandbox, ExitStack] | None:
        """The started sandbox and what removes it, now the caller's; None if there is none."""
        self._go.set()
        self._thread.join()
        if self._box is None:
            return None
        box, self._box = self._box, None
        return box, self._stack.pop_all()

    def close(self) -> None:
        self._closed = True
        self._go.set()
        self._thread.join()
        self._box = None
        self._stack.close()

    def __enter__(self) -> "SandboxAhead":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
