"""Housekeeping in a worker's main process: the container cleanup (``coopbench.sandbox.cleanup``),
the worker's presence in the store (``coopbench.ops.presence``: host, capacity, last seen),
and publishing the retries that have come due (``workers.due_retries``).

It starts when the worker is ready (``worker_ready`` is sent in the main process, after the
pool has started), runs at once, so that a host restarted after a crash is cleaned before
its first job, then every ``sweep_interval_s``; it stops on ``worker_shutdown``. The pool
processes run jobs and nothing else.
"""

import functools
import logging

from celery import signals

from coopbench.config import load_settings
from coopbench.ops.presence import Presence
from coopbench.periodic import PeriodicThread
from coopbench.sandbox.cleanup import PeriodicCleanup
from workers.due_retries import due_retries_pass

log = logging.getLogger(__name__)

_cleanup: PeriodicCleanup | None = None
_presence: Presence | None = None
_due_retries: PeriodicThread | None = None


@signals.worker_ready.connect
def _start_cleanup(sender=None, **_: object) -> None:
    global _cleanup, _presence, _due_retries
    settings = load_settings()
    _cleanup = PeriodicCleanup(settings).start()
    _due_retries = PeriodicThread("coopbench-due-retries", settings.retry_poll_s,
                                  functools.partial(due_retries_pass, settings)).start()
    log.info("container cleanup every %.0f s", settings.sweep_interval_s)
    if sender is not None:
        queues = sorted(q.name for q in sender.task_consumer.queues) if sender.task_consumer else []
        concurrency = sender.pool.num_processes if sender.pool else settings.concurrency
        _presence = Presence(settings, sender.hostname, concurrency, queues).start()


@signals.worker_shutdown.connect
def _stop_cleanup(**_: object) -> None:
    for housekeeper in (_cleanup, _presence, _due_retries):
        if housekeeper is not None:
            housekeeper.stop()
