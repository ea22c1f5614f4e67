"""One pull of an image per Docker engine at a time, however many workers share the engine.

A Redis lock keyed by the engine's id and the image, renewed while the pull runs, so that a
worker killed mid-pull holds it for at most ``LOCK_TTL_S``. The others wait for it, with a
deadline, and then find the image present.
"""

import contextlib
import logging
from collections.abc import Iterator

import redis
import redis.exceptions

from coopbench.errors import BusUnavailable, InfraError
from coopbench.periodic import PeriodicThread

log = logging.getLogger(__name__)

LOCK_TTL_S = 60


@contextlib.contextmanager
def engine_pull_lock(client: redis.Redis, engine_id: str, image: str,
                     wait_s: float) -> Iterator[None]:
    lock = client.lock(f"coopbench:pull:{engine_id}:{image}", timeout=LOCK_TTL_S, sleep=0.5,
                       blocking_timeout=wait_s, thread_local=False)
    try:
        acquired = lock.acquire()
    except redis.exceptions.RedisError as error:  # Redis away: the job is retried later
        raise BusUnavailable(f"cannot take the pull lock of {image} in Redis: {error}") from None
    if not acquired:
        raise InfraError(f"waited {wait_s:.0f} s for another worker's pull of {image} on this "
                         "Docker engine (setting pull_timeout_s); see `coopbench status`")

    def renew() -> None:
        try:
            lock.reacquire()
        except redis.exceptions.RedisError as error:  # Redis away a moment: next time
            log.warning("renewing the pull lock of %s: %s", image, error)

    try:
        with PeriodicThread("coopbench-pull-lock", LOCK_TTL_S / 3, renew):
            yield
    finally:
        with contextlib.suppress(redis.exceptions.RedisError):  # expired: someone else's now
            lock.release()
