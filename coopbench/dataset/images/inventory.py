"""What each Docker engine holds of the task images, as its workers report it: the pulls in
progress (for ``coopbench status``), the images coopbench pulled and when each was last used
(for the eviction when disk runs short)."""

import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from coopbench.dataset.images.local import LocalImage
from coopbench.store import EngineImage, Store, utcnow
from coopbench.store.engine import host_name, retry_on_disconnect
from coopbench.store.states import EngineImageState

log = logging.getLogger(__name__)


class EngineInventory:
    """The rows of one engine, written by a worker of that engine."""

    def __init__(self, store: Store, engine_id: str):
        self.store, self.engine_id = store, engine_id

    def pulling(self, image: str) -> None:
        now = utcnow()
        self._write(image, state=EngineImageState.pulling, progress="starting", error=None,
                    pull_started_at=now, pull_finished_at=None)

    def progress(self, image: str, text: str) -> None:
        try:
            self._write(image, progress=text[:200])
        except Exception as error:  # progress is for people: never fail a pull over it
            log.warning("recording the progress of %s: %s", image, error)

    def pulled(self, image: str, local: LocalImage) -> None:
        now = utcnow()
        self._write(image, state=EngineImageState.present, pulled=True, image_id=local.id,
                    size_bytes=local.size_bytes, progress=None, pull_finished_at=now,
                    last_used_at=now)

    def failed(self, image: str, error: str) -> None:
        self._write(image, state=EngineImageState.failed, progress=None, error=error[:2000],
                    pull_finished_at=utcnow())

    def used(self, image: str, local: LocalImage) -> None:
        self._write(image, state=EngineImageState.present, image_id=local.id, size_bytes=local.size_bytes,
                    last_used_at=utcnow())

    def removed(self, image: str) -> None:
        self._write(image, state=EngineImageState.removed)

    def last_pulled(self, image: str) -> datetime | None:
        with self.store.session() as session:
            row = session.get(EngineImage, (self.engine_id, image))
        return row.pull_finished_at if row is not None and row.state == EngineImageState.present else None

    def pulled_images(self) -> list[EngineImage]:
        """Images coopbench pulled onto this engine and still holds, least recently used first."""
        with self.store.session() as session:
            return list(session.scalars(
                select(EngineImage).where(EngineImage.engine_id == self.engine_id,
                                          EngineImage.pulled.is_(True),
                                          EngineImage.state == EngineImageState.present)
                .order_by(EngineImage.last_used_at)))

    @retry_on_disconnect
    def _write(self, image: str, **values: object) -> None:
        for _ in range(2):  # two workers adding the same row: the loser updates it
            try:
                with self.store.session() as session, session.begin():
                    row = session.get(EngineImage, (self.engine_id, image))
                    if row is None:
                        row = EngineImage(engine_id=self.engine_id, image=image,
                                          state=EngineImageState.present, pulled=False)
                        session.add(row)
                    for key, value in values.items():
                        setattr(row, key, value)
                    row.host, row.updated_at = host_name(), utcnow()
                return
            except IntegrityError:
                continue
