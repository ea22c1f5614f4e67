"""The digest a run runs for each of its images: the first host to resolve an image
records it; the rest read it. A race between two first hosts is settled by the primary key."""

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from coopbench.dataset.images.local import LocalImage
from coopbench.store import RunImage, Store, utcnow
from coopbench.store.engine import retry_on_disconnect


def pinned(store: Store, run_name: str, image: str) -> RunImage | None:
    with store.session() as session:
        return session.get(RunImage, (run_name, image))


@retry_on_disconnect
def pin(store: Store, run_name: str, image: str, local: LocalImage, host: str) -> RunImage:
    """Record ``local`` as the run's bytes for ``image``, unless a host did first: the pin."""
    row = RunImage(run_name=run_name, image=image, digest=local.digest(image),
                   image_id=local.id, host=host, recorded_at=utcnow())
    try:
        with store.session() as session, session.begin():
            session.add(row)
        return row
    except IntegrityError:
        existing = pinned(store, run_name, image)
        assert existing is not None  # rows are never deleted
        return existing


def run_pins(store: Store, run_name: str) -> dict[str, RunImage]:
    with store.session() as session:
        rows = session.scalars(select(RunImage).where(RunImage.run_name == run_name)).all()
    return {row.image: row for row in rows}
