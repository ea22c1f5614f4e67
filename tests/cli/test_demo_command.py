"""The README's main job, `coopbench demo`, as a user runs it: a real subprocess that
builds images, starts workers, runs 36 jobs and exports."""

import json
import subprocess
import sys
import uuid
from pathlib import Path

from tests.conftest import BASE_IMAGE, REDIS_URL
from tests.support.containers import run_containers
from tests.support.env import clean_env
from tests.support.runs import expected_outcome


def test_demo_command_runs_the_demo_end_to_end(tmp_path, docker_client):
    out = tmp_path / "demo-out"
    env = clean_env(COOPBENCH_DATABASE_URL=f"sqlite:///{tmp_path / 'demo.db'}",
                    COOPBENCH_BROKER_URL=REDIS_URL, COOPBENCH_QUEUE=f"demo-{uuid.uuid4().hex[:8]}",
                    COLUMNS="200")
    run = f"demo-test-{uuid.uuid4().hex[:6]}"
    done = subprocess.run(
        [str(Path(sys.executable).with_name("coopbench")), "demo", "--out", str(out), "--base-image", BASE_IMAGE,
         "--run", run],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    manifest = json.loads((out / "results-manifest.json").read_text())
    passed = {s: f["both_passed"] for s, f in manifest["settings"].items()}
    assert passed == {"solo": 9, "coop": 9, "coop-nocomm": 9}
    assert {job["state"] for job in manifest["jobs"]} == {"done"}
    for entry in manifest["jobs"]:  # every pair as worked out by hand, on the default store
        evaluation = json.loads((out / entry["dir"] / "eval.json").read_text())
        outcome = (evaluation["merge"] and evaluation["merge"]["status"],
                   evaluation["feature1"]["passed"], evaluation["feature2"]["passed"])
        key = (entry["repo"], entry["task_id"], tuple(entry["features"]))
        assert outcome == expected_outcome(entry["setting"], key), (entry["setting"], key)
    for line in ("solo", "coop", "coop-nocomm"):
        assert any(row.replace("│", " ").split()[:1] == [line] for row in done.stdout.splitlines()), done.stdout
    assert run_containers(docker_client, run) == []
