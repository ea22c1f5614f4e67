"""Recording which messages went out: ``published_at`` on jobs and evaluations.

Every publisher (enqueue, evaluate, retry, the sweeper, a worker's delayed retry) stamps
what it sent, including the part sent before the broker failed, so that the next attempt
sends only the rest.
"""

from collections.abc import Callable

from sqlalchemy import and_, update

from coopbench.errors import BrokerUnavailable
from coopbench.store.clock import db_now
from coopbench.store.engine import Store, retry_on_disconnect, utcnow
from coopbench.store.models import Evaluation, Job
from coopbench.store.states import JobState


def evaluation_task_id(job_id: str, number: int) -> str:
    """The Celery task id of a job's standalone evaluation ``number`` (a job's is its id)."""
    return f"{job_id}-e{number}"


def stamp_published(store: Store, model: type[Job] | type[Evaluation], ids: list) -> None:
    if not ids:
        return
    with store.session() as session, session.begin():
        session.execute(update(model).where(model.id.in_(ids)).values(published_at=utcnow()))


def publish_and_stamp(store: Store, model: type[Job] | type[Evaluation],
                      send: Callable[[], list]) -> list:
    """``send()`` returns the ids it published (on failure, ``BrokerUnavailable.sent``)."""
    try:
        sent = send()
    except BrokerUnavailable as error:
        stamp_published(store, model, error.sent)
        raise
    stamp_published(store, model, sent)
    return sent


@retry_on_disconnect
def take_due_retries(store: Store) -> list[str]:
    """Stamp and return the retries that have come due and have no message yet.

    The stamp comes first and is conditional, so that of two workers' passes only one
    publishes a job; if the publish then fails, ``unstamp`` gives the rest back."""
    due = and_(Job.state == JobState.queued, Job.due_at.is_not(None), Job.due_at <= db_now(),
               Job.published_at.is_(None))
    with store.session() as session, session.begin():
        return list(session.scalars(update(Job).where(due).values(published_at=db_now())
                                    .returning(Job.id)))


def unstamp(store: Store, job_ids: list[str]) -> None:
    if job_ids:
        with store.session() as session, session.begin():
            session.execute(update(Job).where(Job.id.in_(job_ids)).values(published_at=None))
