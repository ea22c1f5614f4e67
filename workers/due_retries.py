"""A worker's part in retries: publish the jobs whose retry has come due.

A job failed for an infrastructure reason waits in the store with a due time (its backoff),
not in a delayed message, so no retry depends on a worker that may die holding one. Every
worker's main process runs ``due_retries_pass`` every ``retry_poll_s`` (one conditional
UPDATE decides which worker publishes a job), and so does ``coopbench sweep``: a deployment
with workers alone still retries.
"""

import logging

from kombu.exceptions import OperationalError
from sqlalchemy.exc import SQLAlchemyError

from coopbench.config import Settings
from coopbench.errors import BrokerUnavailable
from coopbench.store import Store
from workers.publish import Publisher

log = logging.getLogger(__name__)


def due_retries_pass(settings: Settings) -> None:
    """One pass. It opens its own store and broker connections and closes them, as the
    cleanup does: nothing stays open for a pool process forked later to inherit."""
    store = Store.open(settings, check=False)
    publisher = Publisher(settings)
    try:
        publisher.publish_due_retries(store)
    except (BrokerUnavailable, OperationalError, SQLAlchemyError) as error:
        # the broker or the store away for a while: the retries stay due, try again
        log.warning("publishing due retries failed: %s", str(error).splitlines()[0])
    finally:
        publisher.app.close()
        store.dispose()
