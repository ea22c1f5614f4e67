"""A real CooperBench task through real workers with coopbench's defaults: dirty-equals
task 43 (image built here, tests/support/real_task.py), compared with upstream's own code.

- ``coopbench gold-check`` of its 36 pairs gives what upstream's ``gold_conflict_report.json``
  says of them;
- the oracle in solo and coop on its 5 lite pairs, exported, then evaluated again by
  upstream's own ``cooperbench eval`` (its discovery of runs, its ``_evaluate_single``, its
  Docker backend) on the export: every pair is found, and every ``eval.json`` agrees with
  the one coopbench wrote.
"""

import json
import shutil
import uuid
from pathlib import Path

import pytest
from sqlalchemy import select

from coopbench.dataset.tasks import discover_pairs
from coopbench.export.run_export import export_run
from coopbench.job.setting import Setting
from coopbench.ops.localcluster import LocalWorkers
from coopbench.store import Job, Store
from scheduler.enqueue import enqueue_run
from tests.support.containers import run_containers
from tests.support.real_task import LITE_PAIRS, REPO, TASK_ID, all_pairs
from tests.support.runs import run_request, wait_until_finished

# One SQLite store: these tests are about scoring (the store is tested on both databases
# elsewhere) and each takes minutes.
pytestmark = [pytest.mark.docker, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]

RUN_TIMEOUT_S = 600
FEATURE_FIELDS = ("passed", "exit_code", "tests_passed", "tests_failed")


def test_gold_check_of_its_36_pairs_equals_upstreams_report(cli, real_task_image, fixtures_dir,
                                                             tmp_path):
    report_file = tmp_path / "gold.json"
    result = cli("gold-check", "--dataset", str(fixtures_dir), "--repo", REPO, "--task",
                 str(TASK_ID), "--out", str(report_file), "--local-workers", "2",
                 "--timeout", "400", timeout=500)
    assert result.returncode == 0, result.stderr + result.stdout
    ours = {(e["f1"], e["f2"]): e for e in json.loads(report_file.read_text())["all_results"]}

    upstream = json.loads((fixtures_dir / "gold_conflict_report.json").read_text())
    theirs = {(e["f1"], e["f2"]): e for e in upstream["all_results"]
              if e["repo"] == REPO and e["task_id"] == TASK_ID}
    assert sorted(ours) == sorted(theirs) == all_pairs(fixtures_dir)
    fields = ("has_conflict", "patch1_apply_failed", "patch2_apply_failed", "error")
    assert {pair: tuple(e[k] for k in fields) for pair, e in ours.items()} == \
        {pair: tuple(e[k] for k in fields) for pair, e in theirs.items()}


def test_oracle_on_the_lite_pairs_scores_as_upstream_scores_the_export(
        settings, queue, real_task_image, fixtures_dir, docker_client, tmp_path, monkeypatch):
    from cooperbench.eval.evaluate import evaluate as upstream_evaluate  # takes seconds
    from cooperbench.eval.runs import discover_runs

    run = f"oracle-real-{uuid.uuid4().hex[:6]}"
    pairs = discover_pairs(fixtures_dir, subset="lite", repo=REPO)
    assert [p.features for p in pairs] == LITE_PAIRS
    request = run_request(run, settings.image_template, pairs, dataset=fixtures_dir, repo=REPO,
                          settings=[Setting.solo, Setting.coop], step_limit=100, cost_limit_usd=3.0)
    store = Store(settings.database_url)
    with LocalWorkers(settings, count=2, concurrency=2, log_dir=tmp_path / "logs",
                      name_prefix="real") as workers:
        assert enqueue_run(settings, request).published == 10
        wait_until_finished(store, run, workers, RUN_TIMEOUT_S)
    with store.session() as session:
        jobs = session.scalars(select(Job).where(Job.run_name == run)).all()
    assert {job.state for job in jobs} == {"done"}, {job.id: job.error for job in jobs}
    assert run_containers(docker_client, run) == []

    monkeypatch.chdir(tmp_path)  # a relative logs root, as upstream's default "logs"
    manifest = export_run(store, run, Path("logs"))
    ours = {}
    for setting in ("solo", "coop"):
        name = f"{run}-{setting}"
        found = discover_runs(run_name=name, logs_dir="logs")
        assert sorted(tuple(r["features"]) for r in found) == LITE_PAIRS, "upstream finds every pair"
        for entry in found:
            result = json.loads((tmp_path / entry["log_dir"] / "result.json").read_text())
            assert result["log_dir"] == entry["log_dir"] and result["run_name"] == name
            # The image's index is stale (the repository was copied in): the oracle refreshes
            # it, so every gold patch applies; solo's second one conflicts with the first.
            agents = [result["agent"]] if setting == "solo" else list(result["agents"].values())
            expected = "Error" if setting == "solo" else "Submitted"
            assert [a["status"] for a in agents] == [expected] * len(agents), agents
            assert all(a["patch_lines"] > 0 for a in agents)
            ours[setting, tuple(entry["features"])] = json.loads(
                (tmp_path / entry["log_dir"] / "eval.json").read_text())
        # Upstream's `cooperbench eval --force` on a copy of the export: its own discovery,
        # patch files, procedure and Docker backend; it overwrites each eval.json.
        shutil.copytree(tmp_path / "logs" / name, tmp_path / "upstream" / name)
        upstream_evaluate(name, force=True, concurrency=4, dataset_dir=str(fixtures_dir),
                          logs_dir="upstream")
    assert {e["setting"] for e in manifest["jobs"]} == {"solo", "coop"}

    for (setting, features), mine in ours.items():
        a, b = features
        path = tmp_path / "upstream" / f"{run}-{setting}" / setting / REPO / str(TASK_ID) / f"f{a}_f{b}"
        theirs = json.loads((path / "eval.json").read_text())
        assert _scored(mine) == _scored(theirs), (setting, features)
        assert mine["test_filter"] == "upstream" and mine["deviations"] == []


def _scored(evaluation: dict) -> dict:
    merge = evaluation["merge"]
    fields = {"setting": evaluation["setting"], "features": evaluation["features"],
              "merge": merge and (merge["status"], merge["strategy"], merge["diff"]),
              "apply_status": evaluation.get("apply_status"),
              "both_passed": evaluation["both_passed"], "error": evaluation["error"]}
    for name in ("feature1", "feature2"):
        fields[name] = {k: evaluation[name].get(k) for k in FEATURE_FIELDS}
    return fields

