"""``evaluate`` in real containers of the demo task images: what coopbench owns around
upstream's scoring procedure (that the score itself equals upstream's is
``test_upstream_differential.py``'s job, on a real task).

Owned here: eval.json's shape and coopbench keys, the containers (labelled, on the run's
network, removed), a time limit that really stops a hung test, and a Docker failure under
the procedure raised as an infrastructure error instead of being scored.

Demo pairs (coopbench/dataset/demo/README.md): ledger [1,3] merges cleanly; [3,4] conflicts.
"""

import shutil
import subprocess
import threading
import time
import uuid
from pathlib import Path

import pytest

from coopbench.dataset.images import image_name
from coopbench.dataset.tasks import demo_dataset_path, load_tasks
from coopbench.errors import SandboxError
from coopbench.evaluation.evaluate import EvalInput, Scoring, evaluate
from coopbench.evaluation.patches import TestFilter
from coopbench.sandbox.containers import Network, remove_labelled
from tests.support.containers import container_names

pytestmark = pytest.mark.docker

TASKS = {t.repo: t for t in load_tasks(demo_dataset_path())}
LEDGER = TASKS["ledger_task"]
EVAL_TIMEOUT_S = 120

NETWORK_TEST = """\
diff --git a/tests/test_network.py b/tests/test_network.py
new file mode 100644
--- /dev/null
+++ b/tests/test_network.py
@@ -0,0 +1,5 @@
+import os
+
+
+def test_the_container_has_a_network_interface():
+    assert sorted(os.listdir("/sys/class/net")) != ["lo"]
"""

HANGING_TESTS = """\
diff --git a/tests/test_hang.py b/tests/test_hang.py
new file mode 100644
--- /dev/null
+++ b/tests/test_hang.py
@@ -0,0 +1,6 @@
+import time
+
+
+def test_never_finishes():
+    print("test started", flush=True)
+    time.sleep(3600)
"""


@pytest.fixture
def run_label(docker_client):
    """A run label of the test's own; afterwards no container of it may be left.

    The engine's events are watched live (its replay buffer is too short for a busy test)
    so that the check is not vacuous: containers of this run were created, and destroyed.
    """
    run = f"test-eval-{uuid.uuid4().hex[:10]}"
    label = f"coopbench.run={run}"
    stream = docker_client.events(decode=True, filters={
        "type": "container", "label": label, "event": ["create", "destroy"]})
    actions: list[str] = []

    def watch() -> None:
        try:
            for event in stream:
                actions.append(event.get("Action") or event.get("status"))
        except Exception:
            pass

    threading.Thread(target=watch, daemon=True).start()
    yield run
    assert container_names(docker_client, label) == []
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not 0 < actions.count("create") == actions.count("destroy"):
        time.sleep(0.05)
    stream.close()
    assert actions.count("create") >= 1, actions
    assert actions.count("create") == actions.count("destroy"), actions


@pytest.fixture
def spec_for(demo_images, run_label):
    def make(setting, features, patches, tests=None, **options) -> EvalInput:
        options.setdefault("timeout_s", EVAL_TIMEOUT_S)
        return EvalInput(
            repo=LEDGER.repo, task_id=LEDGER.task_id, scoring=Scoring.solo if setting == "solo" else Scoring.merged,
            features=features,
            patches=patches, tests_patches=tests or {f: LEDGER.tests_patch(f) for f in features},
            image=image_name(demo_images, LEDGER.repo, LEDGER.task_id),
            labels={"run": run_label, "job": uuid.uuid4().hex, "role": "eval"},
            container_name=f"coopbench-test-eval-{uuid.uuid4().hex[:12]}", **options)

    return make


def _gold(*fids: int) -> dict[int, str]:
    return {fid: LEDGER.gold_patch(fid) for fid in fids}


def test_a_clean_coop_merge_in_upstreams_eval_json_with_coopbenchs_keys(docker_client, spec_for):
    result = evaluate(docker_client, spec_for("coop", (1, 3), _gold(1, 3),
                                              timeout_s=600.0))
    report = result.eval_json
    assert list(report) == ["repo", "task_id", "features", "setting", "apply_status", "merge",
                            "feature1", "feature2", "both_passed", "error", "evaluated_at",
                            "test_filter", "deviations"]
    assert (report["repo"], report["task_id"], report["features"], report["setting"]) == (
        "ledger_task", 0, [1, 3], "coop")
    assert report["apply_status"] == {"agent1": "applied", "agent2": "applied"}
    assert report["merge"]["status"] == "clean" and report["merge"]["strategy"] == "naive"
    assert (report["feature1"]["feature_id"], report["feature1"]["tests_passed"]) == (1, 5)
    assert (report["feature2"]["feature_id"], report["feature2"]["tests_passed"]) == (3, 10)
    assert result.both_passed and result.feature_results == {"1": True, "3": True}
    assert (result.merge_status, result.merge_strategy, result.naive_conflict) == ("clean", "naive", False)
    assert report["test_filter"] == "upstream" and report["deviations"] == []


def test_a_conflict_is_judged_on_the_leads_patch_alone(docker_client, spec_for, tmp_path):
    """0.0.29: no union merge; when the naive merge conflicts, agent1's patch alone is tested
    against both features and counts only if it passes both."""
    gold = evaluate(docker_client, spec_for("coop", (3, 4), _gold(3, 4)))
    assert (gold.merge_status, gold.merge_strategy, gold.naive_conflict) == ("conflicts", "naive", True)
    assert gold.both_passed is False and gold.feature_results == {"3": False, "4": False}

    both = _union_of_golds(tmp_path, 3, 4)  # agent1 did both features; agent2 did its own
    lead = evaluate(docker_client, spec_for("coop", (3, 4), {3: both, 4: LEDGER.gold_patch(4)}))
    assert (lead.merge_status, lead.merge_strategy) == ("conflicts", "solo-agent1")
    assert lead.both_passed is True and lead.error is None


def test_the_run_network_policy_reaches_the_containers_and_none_is_recorded(docker_client, spec_for):
    tests = {1: NETWORK_TEST, 3: LEDGER.tests_patch(3)}
    default = evaluate(docker_client, spec_for("coop", (1, 3), _gold(1, 3), tests=tests))
    assert default.feature_results == {"1": True, "3": True}, default.eval_json["feature1"]["test_output"][-2000:]

    none = evaluate(docker_client, spec_for("coop", (1, 3), _gold(1, 3), tests=tests,
                                            network=Network.none, test_filter=TestFilter.extended))
    assert none.feature_results == {"1": False, "3": True}
    assert [(d["option"], d["value"]) for d in none.eval_json["deviations"]] == [
        ("test_filter", "extended"), ("sandbox_network", "none"), ("eval_timeout_s", EVAL_TIMEOUT_S)]
    assert none.eval_json["test_filter"] == "extended"


def test_a_hung_test_run_is_stopped_with_upstreams_timeout_result(docker_client, spec_for):
    spec = spec_for("coop", (1, 3), _gold(1, 3), tests={1: HANGING_TESTS, 3: LEDGER.tests_patch(3)},
                    timeout_s=5)
    started = time.monotonic()
    result = evaluate(docker_client, spec)
    assert time.monotonic() - started < 60  # upstream's own backend would wait for the hour

    hung, normal = result.eval_json["feature1"], result.eval_json["feature2"]
    assert (hung["exit_code"], hung["passed"]) == (-1, False)
    assert hung["test_output"] == "Command timed out after 5 seconds"  # upstream's words
    assert normal["passed"] is True  # the next test run went on, in the same container
    assert result.both_passed is False and result.error is None


def test_a_docker_failure_under_the_procedure_is_raised_not_scored(docker_client, spec_for, run_label):
    """Upstream turns any exception into an evaluation ``error`` (a score); a container
    removed under it (a lost claim, a dying engine) must be retried instead."""
    spec = spec_for("coop", (1, 3), _gold(1, 3), tests={1: HANGING_TESTS, 3: LEDGER.tests_patch(3)},
                    timeout_s=60)

    def remove_when_running() -> None:
        deadline = time.monotonic() + 60
        while not container_names(docker_client, f"coopbench.run={run_label}"):
            assert time.monotonic() < deadline
            time.sleep(0.2)
        time.sleep(3)
        remove_labelled(docker_client, {"run": run_label})

    remover = threading.Thread(target=remove_when_running, daemon=True)
    remover.start()
    with pytest.raises(SandboxError, match="evaluation container failed"):
        evaluate(docker_client, spec)
    remover.join()


def test_a_patch_too_big_for_upstreams_write_is_upstreams_error(docker_client, spec_for):
    """Upstream writes patches through a base64 command-line argument, which fails above
    128 KiB: an evaluation error, scored as upstream scores it (not an infrastructure one)."""
    big = "".join(f"+x = {i}\n" for i in range(40_000))
    patch = ("diff --git a/big.py b/big.py\nnew file mode 100644\n--- /dev/null\n+++ b/big.py\n"
             f"@@ -0,0 +1,40000 @@\n{big}")
    result = evaluate(docker_client, spec_for("coop", (1, 3), {1: patch, 3: LEDGER.gold_patch(3)}))
    assert result.error is not None and result.error.startswith("Failed to write patch1.patch")
    assert result.merge_status == "error" and result.both_passed is False


def _union_of_golds(tmp_path: Path, first: int, second: int) -> str:
    """One patch implementing both features: the two gold patches merged with git's union
    driver (for ledger 3+4, both functions and both imports: correct code)."""
    repo = tmp_path / "repo"
    shutil.copytree(LEDGER.path / "repo", repo)

    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t",
                               *args], check=True, capture_output=True, text=True).stdout

    git("init", "-q", "-b", "base")
    git("add", "-A")
    git("commit", "-qm", "base")
    for branch, fid in (("a", first), ("b", second)):
        git("checkout", "-q", "-b", branch, "base")
        (tmp_path / f"{fid}.patch").write_text(LEDGER.gold_patch(fid))
        git("apply", str(tmp_path / f"{fid}.patch"))
        git("add", "-A")
        git("commit", "-qm", branch)
    (repo / ".git" / "info" / "attributes").write_text("* merge=union\n")
    git("merge", "-q", "a", "-m", "union")
    return git("diff", "base", "HEAD")
