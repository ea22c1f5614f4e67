"""Workers report themselves in the store: host, capacity, limits, and a last-seen time
refreshed every sweep period, so that the status view shows the cluster without Flower
(which forgets on restart) and tells a silent worker from a live one."""

import logging

from sqlalchemy import update

from coopbench.config import Settings
from coopbench.periodic import PeriodicThread
from coopbench.store import Store, Worker
from coopbench.store.clock import db_now
from coopbench.store.engine import host_name

log = logging.getLogger(__name__)


def register_worker(store: Store, name: str, concurrency: int, queues: list[str],
                    limits: dict) -> None:
    now = db_now()
    with store.session() as session, session.begin():
        session.merge(Worker(name=name, host=host_name(), concurrency=concurrency, queues=queues,
                             limits=limits, started_at=now, last_seen=now))


def touch_worker(store: Store, name: str) -> None:
    with store.session() as session, session.begin():
        session.execute(update(Worker).where(Worker.name == name).values(last_seen=db_now()))


class Presence:
    """Registers a worker, then refreshes its last-seen time every ``sweep_interval_s``."""

    def __init__(self, settings: Settings, name: str, concurrency: int, queues: list[str]):
        self.settings, self.name = settings, name
        self.concurrency, self.queues = concurrency, queues
        self._registered = False
        self._thread = PeriodicThread("coopbench-presence", settings.sweep_interval_s, self._pass,
                                      run_first=True)

    def start(self) -> "Presence":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._thread.stop(timeout_s=0)

    def _pass(self) -> None:
        limits = {"max_containers": self.settings.max_containers,
                  "container_memory": self.settings.container_memory,
                  "container_cpus": self.settings.container_cpus}
        # A store per pass, closed after it: in a worker's main process nothing stays
        # open between passes for a pool process forked later to inherit.
        store = Store.open(self.settings, check=False)
        try:
            if self._registered:
                touch_worker(store, self.name)
            else:
                register_worker(store, self.name, self.concurrency, self.queues, limits)
                self._registered = True
        except Exception as error:  # the store away for a while: try next time
            log.warning("worker presence: %s", str(error).splitlines()[0])
        finally:
            store.dispose()
