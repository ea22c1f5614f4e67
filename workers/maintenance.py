"""Housekeeping in a worker's main process: the container cleanup (``coopbench.cleanup``).

It starts when the worker is ready (``worker_ready`` is sent in the main process, after the
pool has started), runs at once, so that a host restarted after a crash is cleaned before
its first job, then every ``sweep_interval_s``; it stops on ``worker_shutdown``. The pool
processes run jobs and nothing else.
"""

import logging

from celery import signals

from coopbench.cleanup import PeriodicCleanup
from coopbench.config import load_settings

log = logging.getLogger(__name__)

_cleanup: PeriodicCleanup | None = None


@signals.worker_ready.connect
def _start_cleanup(**_: object) -> None:
    global _cleanup
    settings = load_settings()
    _cleanup = PeriodicCleanup(settings).start()
    log.info("container cleanup every %.0f s", settings.sweep_interval_s)


@signals.worker_shutdown.connect
def _stop_cleanup(**_: object) -> None:
    if _cleanup is not None:
        _cleanup.stop()
