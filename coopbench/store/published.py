"""Recording which messages went out: ``published_at`` on jobs and evaluations.

Every publisher (enqueue, evaluate, retry, the sweeper, a worker's delayed retry) stamps
what it sent, including the part sent before the broker failed, so that the next attempt
sends only the rest.
"""

from collections.abc import Callable

from sqlalchemy import update

from coopbench.errors import BrokerUnavailable
from coopbench.store.engine import Store, utcnow
from coopbench.store.models import Evaluation, Job


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
