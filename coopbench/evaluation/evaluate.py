"""Score a job's patches with upstream's procedure and write its ``eval.json``.

Upstream's ``test_merged`` (coop: both agents' patches merged, the lead's patch alone when
the naive merge fails) or ``test_solo`` (the one patch against each feature's tests) runs
unchanged, through coopbench's backend (``backend``). ``eval.json`` is what upstream's
``eval.evaluate._evaluate_single`` writes from that result, plus the test-file filter that
ran and the run's deliberate differences from upstream (``deviations``).
"""

import enum
import logging
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import docker

from coopbench.errors import ConfigError
from coopbench.evaluation.backend import CoopbenchEvalBackend
from coopbench.evaluation.deviations import evaluation_deviations
from coopbench.evaluation.patches import TestFilter, prefilter
from coopbench.sandbox.ahead import SandboxAhead
from coopbench.sandbox.containers import Network
from coopbench.sandbox.limits import NO_LIMITS, SandboxLimits
from coopbench.sandbox.removals import Removals
from coopbench.store.engine import utcnow
from coopbench.store.eval_outcome import EvalOutcome

log = logging.getLogger(__name__)


SCORED_FEATURES = 2  # upstream's evaluation tests the first two features of a group


class Scoring(enum.StrEnum):
    """Upstream's two procedures (``eval.sandbox``)."""

    solo = "solo"  # test_solo: the one agent's patch against each feature's tests
    merged = "merged"  # test_merged: the agents' patches merged, then each feature's tests


@dataclass
class EvalInput:
    repo: str
    task_id: int
    scoring: Scoring
    features: tuple[int, ...]  # as in the job; feature1, feature2, ... follow this order
    patches: dict[int, str]  # merged: feature id -> its agent's patch; solo: each id -> the one patch
    tests_patches: dict[int, str]
    image: str
    labels: dict[str, str]
    container_name: str
    network: Network = Network.default
    timeout_s: float = 600.0
    test_filter: TestFilter = TestFilter.upstream
    limits: SandboxLimits = NO_LIMITS
    removals: Removals | None = None  # given: the container is removed in the background
    ahead: SandboxAhead | None = None  # given: a container of the same image, already started


def evaluate(client: docker.DockerClient, spec: EvalInput) -> EvalOutcome:
    """Score the patches; raises ``SandboxError`` when Docker failed under the procedure
    (upstream would have recorded an evaluation error: a score, not a retry)."""
    with CoopbenchEvalBackend(client, spec.image, spec.container_name, spec.labels,
                              spec.network, spec.limits, spec.removals, spec.ahead) as backend, \
            tests_dataset(spec) as dataset_dir:
        result = _score(spec, backend, dataset_dir)
    backend.raise_failure()
    return EvalOutcome(eval_json(spec, result))


def _score(spec: EvalInput, backend: CoopbenchEvalBackend, dataset_dir: Path) -> dict:
    # Imported here: importing upstream's package takes seconds, which only a worker that
    # evaluates should pay (not the CLI, not the agents' stage).
    from coopbench.evaluation import upstream

    if len(spec.features) < 2:
        raise ConfigError(f"upstream's evaluation scores two features; this job has "
                          f"{list(spec.features)}")
    # Upstream 0.0.29's _evaluate_single scores the first two features (and their agents'
    # patches) of any group; a third is not tested. Its N-feature fold is not released.
    first, second = spec.features[:SCORED_FEATURES]
    if spec.scoring is Scoring.solo:
        return upstream.test_solo(spec.repo, spec.task_id, (first, second),
                                  prefilter(spec.patches[first], spec.test_filter),
                                  backend, dataset_dir, spec.timeout_s)
    return upstream.test_merged(spec.repo, spec.task_id, (first, second),
                                prefilter(spec.patches[first], spec.test_filter),
                                prefilter(spec.patches[second], spec.test_filter),
                                backend, dataset_dir, spec.timeout_s)


@contextmanager
def tests_dataset(spec: EvalInput) -> Iterator[Path]:
    """A dataset directory with the hidden tests upstream's procedure reads, from the store."""
    with tempfile.TemporaryDirectory(prefix="coopbench-eval-") as root:
        task_dir = Path(root) / spec.repo / f"task{spec.task_id}"
        for feature_id, text in spec.tests_patches.items():
            path = task_dir / f"feature{feature_id}" / "tests.patch"
            path.parent.mkdir(parents=True)
            with path.open("w", encoding="utf-8", newline="") as file:  # the stored text, as is
                file.write(text)
        yield Path(root)


def eval_json(spec: EvalInput, result: dict) -> dict:
    """Upstream's ``eval.json`` of this result (``_evaluate_single``), plus coopbench's keys."""
    body: dict = {"repo": spec.repo, "task_id": spec.task_id, "features": list(spec.features)}
    if spec.scoring is Scoring.solo:
        body |= {"setting": "solo", "merge": None}
    else:
        body |= {"setting": "coop", "apply_status": result.get("apply_status"),
                 "merge": result.get("merge", {})}
    body |= {f"feature{i}": result.get(f"feature{i}", {}) for i in range(1, SCORED_FEATURES + 1)}
    body |= {
        "both_passed": result.get("both_passed", False),
        "error": result.get("error"),
        "evaluated_at": utcnow().isoformat(),
        "test_filter": str(spec.test_filter),
        "deviations": evaluation_deviations(spec.test_filter, spec.network, spec.timeout_s),
    }
    if len(spec.features) > SCORED_FEATURES:  # coopbench's key: said, not silent
        body["features_not_scored"] = list(spec.features[SCORED_FEATURES:])
    return body
