"""A test run over its time limit is stopped from outside: the container is killed, the
feature is recorded as timed out, and nothing is left running."""

import time
import uuid

from coopbench.dataset import demo_dataset_path, load_tasks
from coopbench.evaluation import EvalInput, evaluate
from coopbench.images import image_name
from tests.containers import run_containers

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


def test_a_hanging_test_run_is_killed_and_recorded_as_timed_out(docker_client, demo_images):
    task = next(t for t in load_tasks(demo_dataset_path()) if t.repo == "ledger_task")
    run = f"timeout-{uuid.uuid4().hex[:8]}"
    spec = EvalInput(
        repo=task.repo, task_id=task.task_id, setting="coop", features=(1, 3),
        patches={1: task.gold_patch(1), 3: task.gold_patch(3)},
        tests_patches={1: HANGING_TESTS, 3: task.tests_patch(3)},
        image=image_name(demo_images, task.repo, task.task_id), labels={"run": run},
        container_name=run, timeout_s=5,
    )
    started = time.monotonic()
    evaluation = evaluate(docker_client, spec)
    elapsed_s = time.monotonic() - started

    hung, normal = evaluation.eval_json["feature1"], evaluation.eval_json["feature2"]
    assert hung["timed_out"] is True and hung["passed"] is False
    assert "killed after the 5 s limit" in hung["test_output"]
    assert "test_never_finishes" in hung["test_output"]  # the output so far is kept
    assert normal["timed_out"] is False and normal["passed"] is True
    assert evaluation.both_passed is False
    assert elapsed_s < 60
    assert run_containers(docker_client, run) == []
