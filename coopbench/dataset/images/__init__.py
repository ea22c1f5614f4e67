"""Task images: their names, getting them onto a host (build, pull on demand), the
exact bytes each run runs (a digest pinned in the store), and the disk they take.

How a job gets its image is ``coopbench.job.image``; a prefetch is ``coopbench.ops.prefetch``."""

from coopbench.dataset.images.names import image_name

# Building lives in ``coopbench.dataset.images.build`` (imported where used: it brings in
# Docker, which `coopbench status` does not need).
__all__ = ["image_name"]
