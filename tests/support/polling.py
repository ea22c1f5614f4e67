"""Waiting for something that happens in another process: a worker, a server, a run."""

import time
from collections.abc import Callable

import pytest


def wait_until[T](probe: Callable[[], T], what: str | Callable[[], str], timeout_s: float = 120,
                  interval_s: float = 0.2, alive: Callable[[], bool] | None = None) -> T:
    """Call ``probe`` every ``interval_s`` until it returns something true, and return that.

    Fails the test after ``timeout_s``, or as soon as ``alive`` (the processes doing the work)
    says they are gone. ``what`` names what is awaited in the failure; a callable is asked
    only then (for the state at that moment)."""
    deadline = time.monotonic() + timeout_s
    while not (value := probe()):
        if alive is not None and not alive():
            pytest.fail(f"the processes died while waiting for {_text(what)}")
        if time.monotonic() > deadline:
            pytest.fail(f"waited {timeout_s:.0f} s for {_text(what)}")
        time.sleep(interval_s)
    return value


def _text(what: str | Callable[[], str]) -> str:
    return what() if callable(what) else what
