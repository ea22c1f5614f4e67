"""Task images: their names, getting them onto a host (build, pull on demand), the
exact bytes each run runs (a digest pinned in the store), and the disk they take.

How a job gets its image is ``coopbench.job.image``; a prefetch is ``coopbench.ops.prefetch``."""

from coopbench.dataset.images.names import image_name

__all__ = ["build_task_image", "image_name"]


def __getattr__(name: str):
    # The builder brings in Docker, imported on first use: `coopbench status` needs only
    # image names, and starts without Docker's import time.
    if name == "build_task_image":
        from coopbench.dataset.images.build import build_task_image

        return build_task_image
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
