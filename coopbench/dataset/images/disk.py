"""Room for a pull on the Docker engine's disk.

Before a pull, the free space on the engine's data root must be at least the setting
``min_free_disk_gb``. When it is not, task images coopbench pulled onto this engine are
removed, least recently used first, except any image a queued or running job (or a pending
evaluation) of any run needs and any image a container uses. If that is not enough the pull
does not start: an infrastructure error naming the host and the space, so the job is tried
again later, by when running jobs may have finished with their images.
"""

import logging
import os
import shutil

import docker
import docker.errors
from sqlalchemy import select

from coopbench.dataset.images.inventory import EngineInventory
from coopbench.dataset.images.local import local_image
from coopbench.dataset.images.names import image_name
from coopbench.errors import InfraError
from coopbench.store import Evaluation, Job, JobState, Run, RunImage, Store
from coopbench.store.engine import host_name

log = logging.getLogger(__name__)

GB = 10**9


def make_room(client: docker.DockerClient, store: Store, inventory: EngineInventory,
              min_free_gb: float, image: str) -> None:
    """Free the disk for pulling ``image``, or raise InfraError."""
    needed = int(min_free_gb * GB)
    root = client.info().get("DockerRootDir") or "/var/lib/docker"
    if not os.path.isdir(root):  # a worker in a container without the data root mounted
        log.warning("cannot see Docker's data root %s from this process; pulling %s without "
                    "checking its free space (mount it to check)", root, image)
        return
    free = shutil.disk_usage(root).free
    if free >= needed:
        return
    keep = needed_image_ids(client, store)
    in_use = {container.attrs.get("Image") for container in client.containers.list(all=True)}
    for row in inventory.pulled_images():
        if free >= needed:
            break
        if row.image_id in keep or row.image_id in in_use or row.image == image:
            continue
        try:
            client.images.remove(row.image_id, force=True, noprune=False)
        except docker.errors.NotFound:
            pass  # removed by hand meanwhile
        except docker.errors.APIError as error:  # a container started from it meanwhile
            log.warning("could not remove %s to free disk: %s", row.image, error)
            continue
        inventory.removed(row.image)
        free = shutil.disk_usage(root).free
        log.info("removed %s (%s, unused by any queued or running job) to free disk: %.1f GB "
                 "free now", row.image, row.image_id[:19], free / GB)
    if free < needed:
        raise InfraError(
            f"host {host_name()}: Docker's data root {root} has {free / GB:.1f} GB free, "
            f"{min_free_gb:g} GB needed before pulling {image} (setting min_free_disk_gb), and "
            "no image coopbench pulled there is unneeded; free disk, or lower the setting")


def needed_image_ids(client: docker.DockerClient, store: Store) -> set[str]:
    """Ids of the local images a queued or running job or a pending evaluation needs."""
    with store.session() as session:
        active = session.execute(
            select(Run.name, Run.image_template, Job.repo, Job.task_id).join(Job.run)
            .where(Job.state.in_([JobState.queued, JobState.running]))
            .union(select(Run.name, Run.image_template, Job.repo, Job.task_id)
                   .join(Job.run).join(Evaluation, Evaluation.job_id == Job.id)
                   .where(Evaluation.state.in_(["queued", "running"])))).all()
        runs = {name for name, *_ in active}
        pins = session.scalars(select(RunImage).where(RunImage.run_name.in_(runs))).all()
    names = {image_name(template, repo, task_id) for _, template, repo, task_id in active}
    local = (local_image(client, name) for name in names)
    return {pin.image_id for pin in pins} | {image.id for image in local if image is not None}
