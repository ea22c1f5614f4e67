"""The one publisher of coopbench's messages: jobs and standalone evaluations, by task name.

The scheduler (enqueue, evaluate, control, the sweeper) and a worker re-queueing a job use it.
"""

import itertools
import logging

from celery import Celery
from kombu.exceptions import BatchPublishError, OperationalError
from sqlalchemy import select

from coopbench.config import Settings
from coopbench.dataset.tasks import job_label
from coopbench.errors import BrokerUnavailable
from coopbench.store import Job, Store
from coopbench.store.published import take_due_retries, unstamp
from workers.celery_app import make_app

log = logging.getLogger(__name__)

RUN_JOB_TASK = "coopbench.run_job"
EVALUATE_TASK = "coopbench.evaluate"
BROKER_CHECK_TIMEOUT_S = 5
PUBLISH_BATCH = 500  # messages per round trip to the broker
BATCH_COMMANDS = 4 * PUBLISH_BATCH  # a message is two Redis commands (its event the second)


class Publisher:
    def __init__(self, settings: Settings, app: Celery | None = None):
        self.settings = settings
        self.app = app or make_app(settings)

    def check(self) -> None:
        """Raise BrokerUnavailable, naming the broker, unless it answers."""
        try:
            with self.app.connection_for_write() as connection:
                connection.ensure_connection(max_retries=1, timeout=BROKER_CHECK_TIMEOUT_S)
        except (OperationalError, OSError) as error:
            raise BrokerUnavailable(
                f"cannot reach the broker {self._safe_url}: {str(error).rstrip('.')}. "
                "Check COOPBENCH_BROKER_URL / --broker-url."
            ) from None

    def publish(self, job_ids: list[str], labels: dict[str, str] | None = None,
                priorities: dict[str, int | None] | None = None) -> list[str]:
        """One message per job, the job id as the Celery task id; returns those sent.

        ``labels`` (job id -> e.g. "run coop ledger_task/0 f1_f2") is what Flower shows as
        the task's arguments, so a person can tell the jobs apart there; ``priorities`` (job
        id -> band, 0 first: ``scheduler.order``) decide which waiting job a worker takes."""
        return self.send(RUN_JOB_TASK, [(jid, jid) for jid in job_ids], "enqueue", labels,
                         priorities)

    def publish_stored(self, store: Store, job_ids: list[str]) -> list[str]:
        """Publish jobs with the label and priority band the store has for each, longest
        expected first (ties, and jobs enqueued in discovery order, in the order given): every
        publisher after enqueue (retries, the sweeper, control)."""
        with store.session() as session:
            rows = session.execute(
                select(Job.id, Job.run_name, Job.setting, Job.repo, Job.task_id, Job.features,
                       Job.priority, Job.predicted_s).where(Job.id.in_(job_ids))).all()
        given = {jid: index for index, jid in enumerate(job_ids)}  # ties keep the caller's order
        rows.sort(key=lambda row: (row.priority or 0, -(row.predicted_s or 0), given[row.id]))
        labels = {row.id: job_label(row.run_name, row.setting, row.repo, row.task_id,
                                    row.features) for row in rows}
        return self.publish([row.id for row in rows], labels,
                            {row.id: row.priority for row in rows})

    def publish_evaluations(self, evaluations: list[tuple[str, int]]) -> list[int]:
        """One message per (Celery task id, evaluation id); returns the evaluation ids sent."""
        return self.send(EVALUATE_TASK, evaluations, "evaluate")

    def send(self, task: str, calls: list[tuple[str, object]], command: str,
             labels: dict[str, str] | None = None,
             priorities: dict[str, int | None] | None = None) -> list:
        """Send ``task(argument)`` with each (task id, argument); returns the arguments sent."""
        sent: list = []
        labels, priorities = labels or {}, priorities or {}
        try:
            with self.app.producer_or_acquire() as producer:
                for chunk in itertools.batched(calls, PUBLISH_BATCH):
                    # One Redis pipeline per chunk (kombu's batch): the messages and their
                    # task-sent events in one round trip, not one each.
                    with producer.batch(max_size=BATCH_COMMANDS):
                        for task_id, argument in chunk:
                            shown = labels.get(task_id)
                            self.app.send_task(task, args=[argument], task_id=task_id,
                                               queue=self.settings.queue, producer=producer,
                                               priority=priorities.get(task_id),
                                               argsrepr=repr([argument, shown]) if shown else None)
                    sent.extend(argument for _, argument in chunk)
        except (OperationalError, BatchPublishError, OSError) as error:
            # A failed chunk counts as unsent: publishing it again is harmless (the claim).
            log.error("publishing stopped after %d of %d messages: %s", len(sent), len(calls), error)
            raise BrokerUnavailable(
                f"the broker failed after {len(sent)} of {len(calls)} messages: {error}. "
                f"The work is committed; run the same {command} again to publish the rest.",
                sent=sent,
            ) from None
        return sent

    def publish_due_retries(self, store: Store) -> list[str]:
        """Publish the jobs whose retry has come due (their backoff is over); returns them.

        Retries wait in the store, not in delayed messages: a message a worker holds until
        its countdown is lost with that worker until the visibility timeout (hours)."""
        due = take_due_retries(store)
        if not due:
            return []
        try:
            sent = self.publish_stored(store, due)
        except BrokerUnavailable as error:
            unstamp(store, sorted(set(due) - set(error.sent)))
            raise
        log.info("published %d retries that came due", len(sent))
        return sent

    @property
    def _safe_url(self) -> str:
        from kombu.utils.url import maybe_sanitize_url

        return maybe_sanitize_url(self.settings.broker_url)

