"""Getting a job's image onto this host: the exact bytes its run runs.

A job asks for an image by name (the run's template). The run's pin (``pins``) says which
bytes that name means for the run; the first host to resolve the name records it. This host
then needs those bytes locally: present already, or pulled (``--pull``: never, missing,
always), one pull per engine at a time (``engine_lock``), with room on disk (``disk``) and
its progress on record (``inventory``). Containers start from the resolved image's id, so a
tag that moves meanwhile changes nothing.
"""

import dataclasses
import logging
from dataclasses import dataclass

from coopbench.dataset.images.disk import make_room
from coopbench.dataset.images.engine_lock import engine_pull_lock
from coopbench.dataset.images.inventory import EngineInventory
from coopbench.dataset.images.local import LocalImage, local_image
from coopbench.dataset.images.names import is_digest_reference, split_reference
from coopbench.dataset.images.pins import pin, pinned
from coopbench.dataset.images.pull import PullPolicy, pull_image
from coopbench.errors import ConfigError, InfraError
from coopbench.job.services import Services
from coopbench.job.spec import JobSpec
from coopbench.store import Run, RunImage
from coopbench.store.engine import host_name

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Resolved:
    image: LocalImage
    pulled: bool  # this call pulled it
    pin: RunImage | None  # None outside a run (a prefetch of a dataset)


def with_job_image(spec: JobSpec, services: Services) -> JobSpec:
    """The spec with its image resolved on this host (see the module's docstring)."""
    resolved = ImageResolver(services).resolve(spec.image_name, PullPolicy.of_run(spec.run.config),
                                               spec.run)
    return dataclasses.replace(spec, resolved_image=resolved.image.id,
                               image_digest=resolved.pin.digest if resolved.pin else None)


class ImageResolver:
    def __init__(self, services: Services):
        self.services = services
        self.client = services.docker
        self.inventory = EngineInventory(services.store, services.engine_id)

    def resolve(self, name: str, policy: PullPolicy, run: Run | None) -> Resolved:
        store = self.services.store
        pin_ = pinned(store, run.name, name) if run is not None else None
        local = self._usable(name, pin_)
        pulled = False
        if local is None or self._refresh(name, policy, run):
            if policy == PullPolicy.never:
                raise self._missing(name, pin_)
            with engine_pull_lock(self.services.bus_redis, self.services.engine_id, name,
                                  self.services.settings.pull_timeout_s):
                local = self._usable(name, pin_)  # another worker may have pulled it meanwhile
                if local is None or self._refresh(name, policy, run):
                    local, pulled = self._pull(name, pin_), True
        if local is None:
            raise self._mismatch(name, pin_)
        if run is not None and pin_ is None:
            pin_ = pin(store, run.name, name, local, host_name())
            if not local.has(pin_.digest, pin_.image_id):  # another host pinned first
                return self.resolve(name, policy, run)
        self.inventory.used(name, local)
        return Resolved(local, pulled, pin_)

    def _usable(self, name: str, pin_: RunImage | None) -> LocalImage | None:
        """The local image with the run's bytes for ``name`` (without a pin: the named one)."""
        if pin_ is None:
            return local_image(self.client, name)
        for reference in (name, pin_.image_id, pin_.digest):
            local = local_image(self.client, reference)
            if local is not None and local.has(pin_.digest, pin_.image_id):
                return local
        return None

    def _refresh(self, name: str, policy: PullPolicy, run: Run | None) -> bool:
        """``always``: pull at the run's first job on this engine, even if present."""
        if policy != PullPolicy.always or run is None:
            return False
        last = self.inventory.last_pulled(name)
        return last is None or last < run.created_at

    def _pull(self, name: str, pin_: RunImage | None) -> LocalImage | None:
        """Pull the pinned digest if there is one (a tag may have moved since), else the name."""
        reference = pin_.digest if pin_ and is_digest_reference(pin_.digest) else name
        settings = self.services.settings
        make_room(self.client, self.services.store, self.inventory, settings.min_free_disk_gb,
                  name)
        log.info("pulling %s on %s", reference, host_name())
        self.inventory.pulling(name)
        try:
            pull_image(self.client, reference, settings.pull_timeout_s,
                       lambda text: (log.info("pulling %s: %s", reference, text),
                                     self.inventory.progress(name, text)))
        except Exception as error:
            self.inventory.failed(name, f"{error.__class__.__name__}: {error}")
            raise
        pulled = local_image(self.client, reference)
        if pulled is None:
            raise InfraError(f"pulled {reference}, but the engine does not have it")
        if reference != name and local_image(self.client, name) is None:
            repository, tag = split_reference(name)  # by digest: give it its name too
            self.client.images.get(pulled.id).tag(repository, tag)
        self.inventory.pulled(name, pulled)
        log.info("pulled %s on %s (%s, %.0f MiB)", reference, host_name(), pulled.id[:19],
                 pulled.size_bytes / 2**20)
        return self._usable(name, pin_)

    def _missing(self, name: str, pin_: RunImage | None) -> Exception:
        if pin_ is not None and local_image(self.client, name) is not None:
            return self._mismatch(name, pin_)
        return ConfigError(f"Docker image {name} is not on host {host_name()} and the run pulls "
                           "never (--pull never); build it there (coopbench images build) or "
                           "enqueue the run with --pull missing")

    def _mismatch(self, name: str, pin_: RunImage | None) -> InfraError:
        here = local_image(self.client, name)
        what = f"has {here.digest(name)}" if here else "cannot get it"
        wanted, by = (pin_.digest, pin_.host) if pin_ else ("?", "?")
        return InfraError(
            f"host {host_name()} {what} for {name}, but this run runs {wanted} (recorded by "
            f"host {by}); every host must run the same "
            "bytes: push the image to a registry every host pulls from, or build it identically")
