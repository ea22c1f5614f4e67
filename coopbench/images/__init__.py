"""Task images: their names, getting them onto a host (build, pull on demand, prefetch), the
exact bytes each run runs (a digest pinned in the store), and the disk they take.

How a job gets its image is ``resolve.job_image``; the rest are its parts."""

from coopbench.images.build import build_task_image
from coopbench.images.names import image_name

__all__ = ["build_task_image", "image_name"]
