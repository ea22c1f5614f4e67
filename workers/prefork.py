"""Celery's prefork pool, with a pool process that exits replaced at once.

A pool process leaves after ``worker_max_tasks_per_child`` jobs. Celery hears it leave when
the process's sentinel pipe closes and then looks for exited processes to replace, but the
pipe closes a moment before the process can be reaped: the process is not seen as exited
yet, and the replacement waits for the pool's periodic check, every 5 s. Meanwhile its
slot stands idle with jobs queued (0-5 s, 2.5 s on average, measured with a bare Celery app:
the sentinel's event finds ``exitcode`` None every time). Here the periodic check runs every
``MAINTAIN_INTERVAL_S``; a check that finds nothing to do costs one ``waitpid`` per process.

Use: the ``worker_pool`` setting (``workers/celeryconfig.py``); ``celery worker -P`` still
chooses another pool.
"""

from celery.concurrency import asynpool, prefork

MAINTAIN_INTERVAL_S = 0.25


class PromptReplacementAsynPool(asynpool.AsynPool):
    @property
    def timers(self) -> dict:
        # Celery's: {maintain_pool: 5.0}; the only periodic handler the pool has.
        return {self.maintain_pool: MAINTAIN_INTERVAL_S}


class TaskPool(prefork.TaskPool):
    Pool = PromptReplacementAsynPool
