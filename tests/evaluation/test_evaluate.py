"""``evaluate`` in real containers of the demo task images, with the demo's gold patches.

Each demo pair was built for one merge outcome (see ``coopbench/demo_dataset/README.md``):
ledger [1,3] merges cleanly, [3,4] conflicts and the union merge fixes it, [1,2] conflicts
and the union merge leaves a SyntaxError.
"""

import threading
import time
import uuid

import pytest

from coopbench.dataset import demo_dataset_path, load_tasks
from coopbench.evaluation import EvalInput, evaluate
from coopbench.images import image_name
from tests.containers import container_names

pytestmark = pytest.mark.docker

TASKS = {t.repo: t for t in load_tasks(demo_dataset_path())}
LEDGER = TASKS["ledger_task"]
EVAL_TIMEOUT_S = 120


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
        except Exception:  # noqa: BLE001 - the stream is closed at teardown
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
def run_eval(docker_client, demo_images, run_label):
    def run(setting, features, patches, task=LEDGER, tests=None):
        spec = EvalInput(
            repo=task.repo, task_id=task.task_id, setting=setting, features=features,
            patches=patches, tests_patches=tests or {f: task.tests_patch(f) for f in features},
            image=image_name(demo_images, task.repo, task.task_id),
            labels={"run": run_label, "job": uuid.uuid4().hex, "role": "eval"},
            container_name=f"coopbench-test-eval-{uuid.uuid4().hex[:12]}",
            timeout_s=EVAL_TIMEOUT_S,
        )
        return evaluate(docker_client, spec)

    return run


def _gold(*fids: int, task=LEDGER) -> dict[int, str]:
    return {fid: task.gold_patch(fid) for fid in fids}


def _assert_feature(block: dict, feature_id: int, passed: bool) -> None:
    assert block["feature_id"] == feature_id
    assert block["passed"] is passed, block["test_output"][-3000:]
    assert block["timed_out"] is False
    if passed:
        assert block["exit_code"] == 0 and block["tests_passed"] > 0
        assert block["tests_failed"] == 0
    else:
        assert block["exit_code"] != 0 or block["tests_passed"] == 0


def test_coop_clean_merge_passes_both(run_eval):
    result = run_eval("coop", (1, 3), _gold(1, 3))
    report = result.eval_json
    assert result.error is None and report["error"] is None
    assert report["apply_status"] == {"agent1": "applied", "agent2": "applied"}
    assert report["merge"]["status"] == "clean" and report["merge"]["strategy"] == "naive"
    assert result.merge_status == "clean"
    _assert_feature(report["feature1"], 1, True)
    _assert_feature(report["feature2"], 3, True)
    assert report["feature1"]["tests_passed"] == 5 and report["feature2"]["tests_passed"] == 10
    assert result.both_passed is True and report["both_passed"] is True
    # the merged diff holds both gold patches' files
    assert "+++ b/ledger/account.py" in report["merge"]["diff"]
    assert "+++ b/ledger/money.py" in report["merge"]["diff"]
    assert (report["repo"], report["task_id"], report["features"], report["setting"]) == (
        "ledger_task", 0, [1, 3], "coop")
    assert report["test_filter"] == "extended"  # the default, recorded


def test_an_agent_patch_touching_the_hidden_test_file_is_filtered_before_the_merge(run_eval):
    """Unfiltered, the agent's tests/test_feature1.py would collide with tests.patch's."""
    own_test = (
        "diff --git a/tests/test_feature1.py b/tests/test_feature1.py\n"
        "new file mode 100644\n"
        "--- /dev/null\n"
        "+++ b/tests/test_feature1.py\n"
        "@@ -0,0 +1,2 @@\n"
        "+def test_mine():\n"
        "+    assert True\n"
    )
    result = run_eval("coop", (1, 3), {1: LEDGER.gold_patch(1) + own_test, 3: LEDGER.gold_patch(3)})
    report = result.eval_json
    assert "tests/test_feature1.py" not in report["merge"]["diff"]
    _assert_feature(report["feature1"], 1, True)
    assert report["feature1"]["tests_passed"] == 5  # the hidden tests, not the agent's one
    assert result.both_passed is True


def test_coop_conflict_fixed_by_the_union_merge(run_eval):
    result = run_eval("coop", (3, 4), _gold(3, 4))
    report = result.eval_json
    assert report["apply_status"] == {"agent1": "applied", "agent2": "applied"}
    assert report["merge"]["status"] == "conflicts" and report["merge"]["strategy"] == "union"
    assert result.merge_status == "conflicts"
    _assert_feature(report["feature1"], 3, True)
    _assert_feature(report["feature2"], 4, True)
    assert result.both_passed is True
    assert "MERGE_NAIVE_CONFLICT" in result.logs["merge.log"]
    # the union merge keeps both functions; .gitattributes was not committed into the patch
    assert "def split_amount" in report["merge"]["diff"] and "def percent_of" in report["merge"]["diff"]
    assert ".gitattributes" not in report["merge"]["diff"]


def test_coop_conflict_the_union_merge_breaks(run_eval):
    result = run_eval("coop", (1, 2), _gold(1, 2))
    report = result.eval_json
    assert report["merge"]["status"] == "conflicts" and report["merge"]["strategy"] == "union"
    assert report["error"] is None  # a broken merge is an outcome, not an evaluation error
    _assert_feature(report["feature1"], 1, False)
    _assert_feature(report["feature2"], 2, False)
    assert "SyntaxError" in report["feature1"]["test_output"]
    assert result.both_passed is False and report["both_passed"] is False


def test_coop_empty_patch_is_skipped_and_its_feature_fails(run_eval):
    result = run_eval("coop", (1, 3), {1: "  \n", 3: LEDGER.gold_patch(3)})
    report = result.eval_json
    assert report["apply_status"] == {"agent1": "skipped", "agent2": "applied"}
    assert report["merge"]["status"] == "clean"
    _assert_feature(report["feature1"], 1, False)
    _assert_feature(report["feature2"], 3, True)
    assert report["feature1"]["tests_failed"] == 5  # the base code fails all five tests
    assert result.both_passed is False


GARBAGE_HUNK = """\
diff --git a/ledger/account.py b/ledger/account.py
--- a/ledger/account.py
+++ b/ledger/account.py
@@ -40,4 +40,4 @@ class Account:
     def close(self) -> None:
-        self.closed = False
+        self.closed = True
         return None
"""


def test_coop_patch_that_does_not_apply_is_missing_input(run_eval):
    result = run_eval("coop", (1, 3), {1: GARBAGE_HUNK, 3: LEDGER.gold_patch(3)})
    report = result.eval_json
    assert report["apply_status"] == {"agent1": "failed", "agent2": "applied"}
    assert report["merge"]["status"] == "missing_input" and result.merge_status == "missing_input"
    assert report["error"] is None
    _assert_feature(report["feature1"], 1, False)
    _assert_feature(report["feature2"], 3, True)
    assert "ledger/account.py" not in report["merge"]["diff"]  # nothing of the failed patch


DELETE_REPORT_HEADER = """\
diff --git a/ledger/report.py b/ledger/report.py
deleted file mode 100644
"""


def test_coop_modify_delete_conflict_is_an_evaluation_error(run_eval):
    """The union driver cannot merge a file one side deleted: upstream's error result."""
    report_py = (LEDGER.path / "repo" / "ledger" / "report.py").read_text()
    delete = DELETE_REPORT_HEADER + "--- a/ledger/report.py\n+++ /dev/null\n" + (
        f"@@ -1,{len(report_py.splitlines())} +0,0 @@\n"
        + "".join(f"-{line}\n" for line in report_py.splitlines())
    )
    modify = (
        "diff --git a/ledger/report.py b/ledger/report.py\n--- a/ledger/report.py\n"
        f"+++ b/ledger/report.py\n@@ -1,1 +1,2 @@\n+# statements\n {report_py.splitlines()[0]}\n"
    )
    result = run_eval("coop", (1, 2), {1: delete, 2: modify})
    report = result.eval_json
    assert result.error is not None and "naive and union" in result.error
    assert report["error"] == result.error and result.merge_status == "error"
    assert report["merge"] == {"status": "error", "strategy": None, "diff": ""}
    assert report["both_passed"] is False and result.both_passed is False
    for block in (report["feature1"], report["feature2"]):  # upstream's error shape: no test ran
        assert block == {"feature_id": None, "passed": False, "exit_code": None,
                         "tests_passed": 0, "tests_failed": 0, "test_output": ""}
    assert "MERGE_UNION_CONFLICT" in result.logs["merge.log"]


def test_solo_gold_of_one_feature_passes_only_that_feature(run_eval):
    gold1 = LEDGER.gold_patch(1)
    result = run_eval("solo", (1, 2), {1: gold1, 2: gold1})
    report = result.eval_json
    assert report["setting"] == "solo" and report["merge"] is None
    assert set(report["feature1"]) == set(report["feature2"]) == {"passed", "test_output"}
    assert report["feature1"]["passed"] is True, report["feature1"]["test_output"][-3000:]
    assert "5 passed" in report["feature1"]["test_output"]
    assert report["feature2"]["passed"] is False
    assert "failed" in report["feature2"]["test_output"]
    assert result.both_passed is False and result.merge_status is None


def _big_file_patch(path: str, size_bytes: int) -> str:
    row = '    "' + "0123456789abcdef" * 6 + '",\n'
    rows = ["TABLE = [\n", *[row] * (size_bytes // len(row)), "]\n"]
    return (
        f"diff --git a/{path} b/{path}\nnew file mode 100644\n--- /dev/null\n+++ b/{path}\n"
        f"@@ -0,0 +1,{len(rows)} @@\n" + "".join(f"+{line}" for line in rows)
    )


def test_a_one_megabyte_patch_goes_in_through_the_docker_api(run_eval):
    """Upstream's base64-in-argv write fails above ~96 KB; files must not go through argv."""
    big = _big_file_patch("ledger/big_table.py", 1_000_000) + LEDGER.gold_patch(1)
    assert len(big.encode()) > 1_000_000
    result = run_eval("coop", (1, 3), {1: big, 3: LEDGER.gold_patch(3)})
    report = result.eval_json
    assert result.error is None
    assert report["apply_status"] == {"agent1": "applied", "agent2": "applied"}
    assert report["merge"]["status"] == "clean"
    assert "+++ b/ledger/big_table.py" in report["merge"]["diff"]
    assert len(report["merge"]["diff"]) == 5000  # stored truncated, as upstream
    _assert_feature(report["feature1"], 1, True)
    _assert_feature(report["feature2"], 3, True)

    solo = run_eval("solo", (1, 2), {1: big, 2: big})
    assert solo.error is None
    assert solo.eval_json["feature1"]["passed"] is True, solo.eval_json["feature1"]["test_output"][-3000:]
