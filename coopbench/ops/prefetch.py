"""Prefetch: every live worker host pulls a run's (or a dataset's) images ahead of its jobs.

``coopbench images pull`` broadcasts a request to the workers (a Celery control command, see
``workers.image_control``). On each Docker engine one worker takes it (a Redis key per
request and engine) and answers at once; it then resolves the images in a thread, a few at a
time, exactly as a job would (the run's pins, its pull policy, the engine's pull lock, the
disk check), and writes one report per image into a Redis hash of the request. The command
waits for every taker's reports and prints them.
"""

import json
import logging
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import redis

from coopbench.dataset.images.pull import PullPolicy
from coopbench.job.services import Services
from coopbench.store.engine import host_name

log = logging.getLogger(__name__)

REPORT_TTL_S = 24 * 3600
DONE = "(done)"  # the field a taker writes once every image has a report


def new_request_id() -> str:
    return uuid.uuid4().hex[:12]


def reports_key(request_id: str) -> str:
    return f"coopbench:prefetch:{request_id}"


def take_on_engine(client: redis.Redis, request_id: str, engine_id: str, taker: str) -> str | None:
    """Take the request for this engine; None if taken, else by whom it was already taken."""
    key = f"{reports_key(request_id)}:engine:{engine_id}"
    if client.set(key, taker, nx=True, ex=REPORT_TTL_S):
        return None
    owner = client.get(key)
    return owner.decode() if owner else "?"


@dataclass(frozen=True)
class PrefetchRequest:
    id: str
    images: list[str]
    run: str | None  # resolve as the run's jobs do (its pins and pull policy), or plainly
    parallel: int = 3


def run_prefetch(request: PrefetchRequest, services: Services) -> None:
    """Resolve each image on this host, ``parallel`` at a time; report each, then DONE."""
    from coopbench.job.image import ImageResolver  # needs the store models

    client = services.bus_redis
    key, host = reports_key(request.id), host_name()
    run = _load_run(services, request.run)
    policy = PullPolicy.of_run(run.config) if run is not None else PullPolicy.missing
    if policy == PullPolicy.never:
        policy = PullPolicy.missing  # asked to pull: a run that never pulls still may be warmed

    resolver = ImageResolver(services)

    def one(image: str) -> None:
        try:
            resolved = resolver.resolve(image, policy, run)
            report = {"status": "pulled" if resolved.pulled else "present",
                      "size_bytes": resolved.image.size_bytes, "id": resolved.image.id,
                      "digest": resolved.pin.digest if resolved.pin else
                      resolved.image.digest(image)}
        except Exception as error:  # reported, never raised: the others go on
            log.warning("prefetch of %s: %s", image, error)
            report = {"status": "failed", "error": f"{error.__class__.__name__}: {error}"}
        client.hset(key, f"{host}\n{image}", json.dumps(report))
        client.expire(key, REPORT_TTL_S)

    try:
        with ThreadPoolExecutor(request.parallel, thread_name_prefix="prefetch") as pool:
            list(pool.map(one, request.images))
    finally:
        client.hset(key, f"{host}\n{DONE}", "1")
        client.expire(key, REPORT_TTL_S)


def start_prefetch(request: PrefetchRequest, services: Services) -> None:
    """Run the prefetch in a thread (the worker's main process must keep consuming)."""
    def run() -> None:
        try:
            run_prefetch(request, services)
        except Exception:
            log.exception("prefetch %s failed", request.id)
        finally:
            services.close()

    threading.Thread(target=run, name=f"coopbench-prefetch-{request.id}", daemon=True).start()


def read_reports(client: redis.Redis,
                 request_id: str) -> tuple[dict[str, dict[str, dict]], set[str]]:
    """(host -> image -> report, hosts that are done) for a request so far."""
    reports: dict[str, dict[str, dict]] = {}
    done: set[str] = set()
    for field, value in client.hgetall(reports_key(request_id)).items():
        host, image = field.decode().split("\n", 1)
        if image == DONE:
            done.add(host)
        else:
            reports.setdefault(host, {})[image] = json.loads(value)
    return reports, done


def _load_run(services: Services, run_name: str | None):
    if run_name is None:
        return None
    with services.store.session() as session:
        return services.store.require_run(session, run_name)
