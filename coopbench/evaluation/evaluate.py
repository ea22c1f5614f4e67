"""Evaluate a job's patches: merge them (coop), run each feature's hidden tests.

Coop merges in one container; every feature's tests then run in a fresh container of the
task image (what upstream's reset + clean checkout aims at, without the leftovers), under
a time limit enforced from outside: past it the container is killed and the feature is
recorded as timed out. The outcome is an ``eval.json`` in upstream's shapes (reference
5.6, 5.7) plus the name of the test-file filter that ran.
"""

import logging
import re
from dataclasses import dataclass, field

import docker

from coopbench.evaluation.counting import count_tests
from coopbench.evaluation.patches import TestFilter, prepare
from coopbench.evaluation.scripts import MERGE, PATCH_DIR, RUN_TESTS
from coopbench.host_limits import NO_LIMITS, SandboxLimits
from coopbench.sandbox import open_sandbox
from coopbench.store.engine import utcnow

log = logging.getLogger(__name__)

MERGE_TIMEOUT_S = 300
MERGED_DIFF_CHARS = 5000  # upstream stores the merged diff truncated to this


@dataclass
class EvalInput:
    repo: str
    task_id: int
    setting: str  # solo | coop | coop-nocomm
    features: tuple[int, int]  # as in the job; feature1/feature2 follow this order
    patches: dict[int, str]  # coop: feature id -> that agent's patch; solo: both ids -> the one patch
    tests_patches: dict[int, str]
    image: str
    labels: dict[str, str]
    container_name: str
    network: bool = False
    timeout_s: float = 600.0
    test_filter: TestFilter = TestFilter.extended
    limits: SandboxLimits = NO_LIMITS


@dataclass
class EvalOutcome:
    eval_json: dict
    both_passed: bool
    merge_status: str | None
    error: str | None = None
    logs: dict[str, str] = field(default_factory=dict)
    naive_conflict: bool = False  # the naive merge conflicted (union was then tried)

    @property
    def merge_strategy(self) -> str | None:
        return (self.eval_json.get("merge") or {}).get("strategy")

    @property
    def features_passed(self) -> tuple[bool, bool]:
        return (bool(self.eval_json["feature1"]["passed"]), bool(self.eval_json["feature2"]["passed"]))


def evaluate(client: docker.DockerClient, spec: EvalInput) -> EvalOutcome:
    if spec.setting == "solo":
        return _evaluate_solo(client, spec)
    return _evaluate_coop(client, spec)


def _evaluate_solo(client: docker.DockerClient, spec: EvalInput) -> EvalOutcome:
    a, b = spec.features
    patch = prepare(spec.patches[a], spec.test_filter)
    results = [_run_tests(client, spec, i, fid, patch) for i, fid in enumerate((a, b), 1)]
    both = all(r["passed"] for r in results)
    eval_json = {
        "repo": spec.repo, "task_id": spec.task_id, "features": list(spec.features),
        "setting": "solo", "merge": None,
        "feature1": {"passed": results[0]["passed"], "test_output": results[0]["test_output"]},
        "feature2": {"passed": results[1]["passed"], "test_output": results[1]["test_output"]},
        "both_passed": both, "error": None, "evaluated_at": utcnow().isoformat(),
        "test_filter": str(spec.test_filter),
    }
    return EvalOutcome(eval_json, both, None)


def _evaluate_coop(client: docker.DockerClient, spec: EvalInput) -> EvalOutcome:
    a, b = spec.features
    with open_sandbox(client, spec.image, f"{spec.container_name}-merge", spec.labels,
                      limits=spec.limits) as box:
        box.put_files(PATCH_DIR, {
            "patch1.patch": prepare(spec.patches[a], spec.test_filter),
            "patch2.patch": prepare(spec.patches[b], spec.test_filter),
        })
        merged = box.exec(MERGE, timeout_s=MERGE_TIMEOUT_S, kill_on_timeout=True)
        diff = "" if merged.killed else (box.read_file(f"{PATCH_DIR}/merged.patch") or "")
    out = merged.output
    apply_status = {f"agent{i}": _apply_status(out, i) for i in (1, 2)}
    if merged.killed or "MERGE_DONE" not in out or not re.search(r"^BASE_SHA=\w+", out, re.M):
        return _error(spec, apply_status, f"merge setup failed: {out[-2000:]}", out)
    conflicted = "MERGE_NAIVE_CONFLICT" in out
    if "MERGE_UNION_CONFLICT" in out:
        return _error(spec, apply_status,
                      "Both naive and union merge strategies failed to merge the patches", out,
                      naive_conflict=True)
    if "failed" in apply_status.values():
        status = "missing_input"  # upstream's precedence: missing input over conflicts
    else:
        status = "conflicts" if conflicted else "clean"
    results = [_run_tests(client, spec, i, fid, diff) for i, fid in enumerate((a, b), 1)]
    both = all(r["passed"] for r in results)
    eval_json = {
        "repo": spec.repo, "task_id": spec.task_id, "features": list(spec.features),
        "setting": "coop", "apply_status": apply_status,
        "merge": {"status": status, "strategy": "union" if conflicted else "naive",
                  "diff": diff[:MERGED_DIFF_CHARS]},
        "feature1": {"feature_id": a, **results[0]},
        "feature2": {"feature_id": b, **results[1]},
        "both_passed": both, "error": None, "evaluated_at": utcnow().isoformat(),
        "test_filter": str(spec.test_filter),
    }
    return EvalOutcome(eval_json, both, status, logs={"merge.log": out}, naive_conflict=conflicted)


def _run_tests(client: docker.DockerClient, spec: EvalInput, index: int, feature_id: int,
               patch: str) -> dict:
    """One feature's hidden tests on ``patch``, in a fresh container, killed past the limit."""
    name = f"{spec.container_name}-test{index}"
    with open_sandbox(client, spec.image, name, spec.labels, spec.network, spec.limits) as box:
        box.put_files(PATCH_DIR, {"patch.patch": patch,
                                  "tests.patch": spec.tests_patches[feature_id]})
        base_sha = box.exec("git rev-parse HEAD", timeout_s=60).output.strip()
        script = RUN_TESTS.format(base_sha=base_sha, tests_patch="tests.patch", patch="patch.patch")
        ran = box.exec(script, timeout_s=spec.timeout_s, kill_on_timeout=True)
    output = ran.output
    if ran.killed:
        output += f"\n[coopbench] test run killed after the {spec.timeout_s:.0f} s limit\n"
    passed_count, failed_count = count_tests(output)
    return {
        "passed": not ran.killed and ran.returncode == 0 and passed_count > 0,
        "exit_code": ran.returncode,
        "tests_passed": passed_count,
        "tests_failed": failed_count,
        "test_output": output,
        "timed_out": ran.killed,
    }


def _apply_status(output: str, index: int) -> str:
    for marker, status in (("APPLIED", "applied"), ("SKIPPED", "skipped"), ("FAILED", "failed")):
        if f"PATCH{index}_{marker}" in output:
            return status
    return "unknown"


def _error(spec: EvalInput, apply_status: dict, message: str, log_text: str,
           naive_conflict: bool = False) -> EvalOutcome:
    empty = {"feature_id": None, "passed": False, "exit_code": None, "tests_passed": 0,
             "tests_failed": 0, "test_output": ""}
    eval_json = {
        "repo": spec.repo, "task_id": spec.task_id, "features": list(spec.features),
        "setting": "coop", "apply_status": apply_status,
        "merge": {"status": "error", "strategy": None, "diff": ""},
        "feature1": dict(empty), "feature2": dict(empty), "both_passed": False,
        "error": message, "evaluated_at": utcnow().isoformat(),
        "test_filter": str(spec.test_filter),
    }
    return EvalOutcome(eval_json, False, "error", error=message, logs={"merge.log": log_text},
                       naive_conflict=naive_conflict)
