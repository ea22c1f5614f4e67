"""The Celery tasks: thin, they only hand an id to ``coopbench.job.runner`` or
``coopbench.job.eval_stage``."""

import gc
import logging
import os

from celery import shared_task, signals
from celery.exceptions import SoftTimeLimitExceeded
from sqlalchemy.exc import SQLAlchemyError

from coopbench.config import load_settings
from coopbench.job.eval_stage import run_evaluation
from coopbench.job.runner import Services, run_job
from coopbench.store import Store
from workers.publish import EVALUATE_TASK, RUN_JOB_TASK

log = logging.getLogger(__name__)

_services: Services | None = None


def services(hostname: str) -> Services:
    """One per process, made after the fork: Docker and database connections don't survive it."""
    global _services
    if _services is None:
        _services = Services(load_settings(), worker_name=f"{hostname}:{os.getpid()}",
                             interruptions=(SoftTimeLimitExceeded,))
    return _services


@signals.worker_init.connect
def _refuse_a_store_of_another_schema(**_: object) -> None:
    """A worker whose coopbench reads another schema revision than the store holds would
    fail every job (an older store) or run jobs with code older than the store's (a newer
    one, migrated by a newer coopbench on another host): it does not start. A store with no
    schema yet (the first enqueue makes it), or one not answering, does not stop it."""
    store = Store.open(load_settings(), check=False)
    try:
        problem = store.schema_problem(none_is_fine=True)
    except SQLAlchemyError as error:  # workers outlive database restarts: start anyway
        log.warning("the store did not answer at start, its schema is not checked: %s",
                    str(error).splitlines()[0])
        return
    finally:
        store.dispose()
    if problem:
        raise SystemExit(f"error: {problem}")  # not caught by Celery's signal dispatch


@signals.worker_init.connect
def _import_upstream_before_the_fork(**_: object) -> None:
    """Upstream's scoring procedure is imported once, in the worker's main process: every
    pool process would otherwise import it (with litellm and modal, seconds of CPU) on its
    first evaluation. It starts no thread at import, so forking after it is safe.

    Then the objects imported so far (about half a million) are frozen out of the garbage
    collector, as Python's documentation advises before a fork: a pool process's full
    collection would otherwise scan them all (0.3-0.4 s here, in the middle of a job) and,
    by touching them, copy the pages it shares with the main process."""
    import coopbench.evaluation.upstream  # noqa: F401 - imported for its side of the fork

    gc.freeze()


@signals.worker_process_init.connect
def _reset_after_fork(**_: object) -> None:
    global _services
    _services = None


@shared_task(name=RUN_JOB_TASK, bind=True)
def run_job_task(self, job_id: str) -> str | None:
    state = run_job(job_id, services(self.request.hostname))
    log.info("job %s: %s", job_id, state or "skipped (not claimable)")
    return state


@shared_task(name=EVALUATE_TASK, bind=True)
def evaluate_task(self, evaluation_id: int) -> str | None:
    state = run_evaluation(evaluation_id, services(self.request.hostname))
    log.info("evaluation %s: %s", evaluation_id, state or "skipped (not claimable)")
    return state
