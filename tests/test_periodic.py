"""The one periodic-thread helper: ticks on time, survives a failing tick, stops when told."""

import threading
import time

from coopbench.periodic import PeriodicThread


def test_ticks_keep_coming_after_a_failing_tick_and_stop_when_told(caplog):
    ticks: list[float] = []
    enough = threading.Event()

    def tick() -> None:
        ticks.append(time.monotonic())
        if len(ticks) == 2:
            raise RuntimeError("a store blip")
        if len(ticks) == 4:
            enough.set()

    with PeriodicThread("test-ticker", 0.02, tick, run_first=True):
        assert enough.wait(5)
    count = len(ticks)
    time.sleep(0.1)
    assert len(ticks) == count, "no tick after stop"
    assert "test-ticker: a periodic pass failed" in caplog.text


def test_a_tick_returning_false_ends_it_and_waiting_first_is_the_default():
    calls: list[int] = []
    ticker = PeriodicThread("test-once", 0.01, lambda: calls.append(1) or False).start()
    ticker._thread.join(5)
    assert calls == [1] and not ticker._thread.is_alive()

    slow = PeriodicThread("test-wait-first", 60, lambda: calls.append(2)).start()
    time.sleep(0.05)
    slow.stop()
    assert calls == [1], "the first tick waits an interval unless run_first"
