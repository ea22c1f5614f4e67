"""Remote-control commands for task images, answered by every live worker (Celery's
broadcast, sent by ``coopbench images pull`` and ``coopbench images list``).

They run in the worker's main process, which must go on consuming, so a prefetch only
starts a thread there and answers at once; its outcome goes to Redis (``coopbench.ops.prefetch``).
"""

import logging

from celery.worker.control import control_command, inspect_command

from coopbench.config import load_settings
from coopbench.dataset.images.local import local_image
from coopbench.job.services import Services
from coopbench.ops.prefetch import PrefetchRequest, start_prefetch, take_on_engine
from coopbench.store.engine import host_name

log = logging.getLogger(__name__)


@control_command(args=[("request_id", str), ("images", list), ("run", str), ("parallel", int)],
                 signature="<request_id> <images> [run] [parallel]")
def coopbench_prefetch(state, request_id: str, images: list, run: str | None = None,
                       parallel: int = 3) -> dict:
    """Pull task images ahead of the jobs: one worker per Docker engine does it."""
    services = Services(load_settings(), worker_name=state.hostname)
    try:
        engine = services.engine_id
        owner = take_on_engine(services.bus_redis, request_id, engine, state.hostname)
    except Exception as error:  # Docker or Redis away: say so, the command reports it
        services.close()
        return {"host": host_name(), "error": f"{error.__class__.__name__}: {error}"}
    if owner is not None:
        services.close()
        return {"host": host_name(), "engine": engine, "covered_by": owner}
    log.info("prefetch %s: %d images", request_id, len(images))
    start_prefetch(PrefetchRequest(request_id, list(images), run, max(1, parallel)), services)
    return {"host": host_name(), "engine": engine, "taken": True}


@inspect_command(args=[("images", list)], signature="<images>")
def coopbench_images(state, images: list) -> dict:
    """Which of these task images this worker's Docker engine has, and their digests."""
    services = Services(load_settings(), worker_name=state.hostname)
    try:
        found = {}
        for name in images:
            local = local_image(services.docker, name)
            found[name] = None if local is None else {
                "id": local.id, "digest": local.digest(name), "size_bytes": local.size_bytes}
        return {"host": host_name(), "engine": services.engine_id, "images": found}
    except Exception as error:
        return {"host": host_name(), "error": f"{error.__class__.__name__}: {error}"}
    finally:
        services.close()
