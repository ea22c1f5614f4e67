"""The one seam between coopbench and upstream CooperBench's scoring procedure.

A job is scored by upstream's own ``cooperbench.eval.sandbox.test_merged`` (coop) and
``test_solo`` (solo), called unchanged: the merge, the lead-alone fallback, the patch
repairs, the test-file filter, the runner invocation and the pass rule are all theirs.
coopbench only supplies the backend that makes the container (labelled, limited, on the
run's network; see ``backend``) and the dataset directory upstream reads the hidden tests
from (written from the store: workers have no dataset).

Upstream picks its backend by name (``get_backend("docker")``), with no way to hand it one.
So this module wraps that lookup once, in upstream's ``eval.sandbox`` module, to let a
backend *object* through; a name still goes to upstream's own lookup. The wrapper is
checked for at import, so an upstream release that moves the seam fails loudly here.
"""

from pathlib import Path
from typing import Any

from cooperbench.eval import sandbox as _upstream

__all__ = ["filter_test_files", "parse_counts", "sanitise", "test_merged", "test_solo"]


def _install_backend_passthrough() -> None:
    original = _upstream.get_backend
    if getattr(original, "coopbench_passthrough", False):
        return

    def get_backend(name: Any = "docker"):
        return original(name) if isinstance(name, str) else name

    get_backend.coopbench_passthrough = True  # type: ignore[attr-defined]
    _upstream.get_backend = get_backend


_install_backend_passthrough()

# Upstream's helpers, used where coopbench needs the same rule outside the procedure.
filter_test_files = _upstream._filter_test_files  # the test-file filter applied to patches
sanitise = _upstream._sanitize_patch  # repairs shell-escaped quotes and a missing final newline
parse_counts = _upstream._parse_results  # {"passed": n, "failed": m} from a runner's output


def test_merged(repo: str, task_id: int, features: tuple[int, int], patch1: str, patch2: str,
                backend: object, dataset_dir: Path, timeout_s: float) -> dict:
    """Upstream's coop scoring of two agents' patches: merge, then each feature's tests."""
    return _upstream.test_merged(
        repo_name=repo, task_id=task_id, feature1_id=features[0], feature2_id=features[1],
        patch1=patch1, patch2=patch2, timeout=_seconds(timeout_s), backend=backend,
        dataset_dir=dataset_dir,
    )


def test_solo(repo: str, task_id: int, features: tuple[int, int], patch: str, backend: object,
              dataset_dir: Path, timeout_s: float) -> dict:
    """Upstream's solo scoring: the one patch against each feature's tests."""
    return _upstream.test_solo(
        repo_name=repo, task_id=task_id, feature1_id=features[0], feature2_id=features[1],
        patch=patch, timeout=_seconds(timeout_s), backend=backend, dataset_dir=dataset_dir,
    )


# pytest would collect the two functions above as tests (their names start with "test").
test_merged.__test__ = False  # type: ignore[attr-defined]
test_solo.__test__ = False  # type: ignore[attr-defined]


def _seconds(timeout_s: float) -> int | float:
    """Upstream's default is the int 600 and its timeout message prints it: keep ints ints."""
    return int(timeout_s) if float(timeout_s).is_integer() else timeout_s
