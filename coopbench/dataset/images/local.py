"""An image as this Docker engine holds it: its id, its registry digests, its size."""

from dataclasses import dataclass

import docker
import docker.errors

from coopbench.dataset.images.names import repository_of


@dataclass(frozen=True)
class LocalImage:
    id: str  # "sha256:...": the digest of its config, so the same bytes have the same id
    repo_digests: tuple[str, ...]  # "<repository>@sha256:..." for each registry it came from
    size_bytes: int

    def digest(self, name: str) -> str:
        """What a run pins: the registry digest of ``name``'s repository when the image came
        from a registry, else (an image built on this host) its id."""
        repository = repository_of(name)
        for digest in self.repo_digests:
            if repository_of(digest) == repository:
                return digest
        return self.repo_digests[0] if self.repo_digests else self.id

    def has(self, digest: str, image_id: str) -> bool:
        """Whether these are the bytes a pin names."""
        return self.id == image_id or digest in self.repo_digests


def local_image(client: docker.DockerClient, reference: str) -> LocalImage | None:
    try:
        attrs = client.api.inspect_image(reference)
    except docker.errors.ImageNotFound:
        return None
    except docker.errors.NotFound:  # some engines answer a bad digest reference so
        return None
    return LocalImage(attrs["Id"], tuple(attrs.get("RepoDigests") or ()),
                      int(attrs.get("Size") or 0))
