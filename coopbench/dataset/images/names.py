"""Task image names: upstream's template, and a name split into repository and tag."""

from coopbench.dataset.tasks import repo_slug


def image_name(template: str, repo: str, task_id: int) -> str:
    """Upstream's naming: the slug is the repo dir without ``_task``, underscores as hyphens."""
    return template.format(slug=repo_slug(repo), task_id=task_id, repo=repo)


def split_reference(reference: str) -> tuple[str, str | None]:
    """``127.0.0.1:5000/a/b:task1`` -> (``127.0.0.1:5000/a/b``, ``task1``); ``a/b@sha256:x``
    -> (``a/b``, ``sha256:x``); no tag -> (repository, None)."""
    from docker.utils import parse_repository_tag  # here: `image_name` alone (status) needs no Docker

    return parse_repository_tag(reference)


def repository_of(reference: str) -> str:
    return split_reference(reference)[0]


def is_digest_reference(reference: str) -> bool:
    return "@sha256:" in reference
