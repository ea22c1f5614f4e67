"""The whole path on real services: enqueue -> Celery over Redis -> two real worker
processes -> Docker containers -> SQL store (SQLite and PostgreSQL) -> export."""

import json

import pytest
from sqlalchemy import select

from coopbench.dataset.tasks import demo_dataset_path, load_tasks
from coopbench.export.run_export import MANIFEST_NAME, export_run
from coopbench.job.setting import Setting
from coopbench.ops.localcluster import LocalWorkers
from coopbench.store import Attempt, Evaluation, Job, Store
from scheduler.enqueue import enqueue_run
from tests.export.test_schemas import errors, exported_files
from tests.support.broker import queue_length
from tests.support.containers import wait_run_containers_removed
from tests.support.polling import wait_until
from tests.support.runs import SOLO_FAILING, demo_pairs, expected_outcome, run_request, wait_until_finished
from workers.publish import Publisher


# PostgreSQL (the suite's default), as many hosts use: the same path on SQLite (the default
# store) is the main job's, tests/cli/test_demo_command.py, which checks the same outcomes.
def test_demo_run_end_to_end(settings, demo_images, docker_client, tmp_path):
    run = f"e2e-{settings.queue[-8:]}"
    store = Store(settings.database_url)
    with LocalWorkers(settings, count=2, concurrency=2, log_dir=tmp_path / "logs",
                      name_prefix="e2e") as workers:
        report = enqueue_run(settings, run_request(run, demo_images))
        assert (report.jobs_added, report.published) == (36, 36)
        wait_until_finished(store, run, workers)

    with store.session() as session:
        jobs = session.scalars(select(Job).where(Job.run_name == run)).all()
        attempts = session.scalars(select(Attempt).join(Job).where(Job.run_name == run)).all()
        evaluations = {e.job_id: e for e in session.scalars(
            select(Evaluation).join(Job, Evaluation.job_id == Job.id).where(Job.run_name == run))}
    assert len(jobs) == 36
    assert {job.state for job in jobs} == {"done"}, {job.id: job.error for job in jobs}
    # Exactly once: one attempt per job, and it is the one that finished it.
    assert len(attempts) == 36 and {a.state for a in attempts} == {"done"}
    assert {a.worker.split("@")[0] for a in attempts} == {"e2e1", "e2e2"}, "both workers ran jobs"
    wait_run_containers_removed(docker_client, run)

    out = tmp_path / "export"
    manifest = export_run(store, run, out)
    assert json.loads((out / MANIFEST_NAME).read_text()) == json.loads(json.dumps(manifest, default=str))
    figures = manifest["settings"]
    assert list(figures) == ["solo", "coop", "coop-nocomm"]
    # solo: the oracle could not apply both gold patches of the 3 conflicting pairs
    for setting, agents_per_job, erring in (("solo", 1, 3), ("coop", 2, 0), ("coop-nocomm", 2, 0)):
        summary = figures[setting]
        assert summary["pairs"] == summary["done"] == summary["evaluated"] == 12
        assert summary["agents"] == summary["patches"] == 12 * agents_per_job
        assert summary["submitted"] == 12 * agents_per_job - erring
        assert (summary["limits_exceeded"], summary["agent_errors"], summary["infra_errors"]) == (0, erring, 0)
        passed = 9
        assert summary["both_passed"] == passed
        assert summary["pass_rate"] == round(passed / 12, 4)
        assert summary["avg_steps"] == 1.0 and summary["total_cost"] == 0.0
        assert summary["wall_time_seconds"] > 0

    for setting in ("coop", "coop-nocomm"):  # 9 clean pairs, 3 conflicting, no lead passing alone
        summary = figures[setting]
        assert (summary["merge_clean"], summary["merge_conflicts"], summary["merge_lead_alone_passed"],
                summary["merge_identical"], summary["merge_errors"]) == (9, 3, 0, 0, 0)
        assert summary["success_rate"] == round(9 / 12, 4)
        # solo and coop both pass the same 9 of the 12 pairs: no gap, and every pair's
        # difference is 0, so its interval is the point.
        assert manifest["coordination_gap"][setting] == {
            "pairs": 12, "solo_success": 0.75, "coop_success": 0.75, "gap": 0.0,
            "gap_interval": {"level": 0.95, "method": "pair-bootstrap", "low": 0.0, "high": 0.0}}
        run_dir = out / f"{run}-{setting}"
        assert len(json.loads((run_dir / "summary.json").read_text())["results"]) == 12
        assert len(json.loads((run_dir / "eval_summary.json").read_text())["results"]) == 12

    invalid = {str(path.relative_to(out)): problems
               for path, schema in exported_files(out).items()
               if schema and (problems := errors(schema, json.loads(path.read_text())))}
    assert invalid == {}, "exported files that do not match the reference schemas"

    tasks = {(t.repo, t.task_id): t for t in load_tasks(demo_dataset_path())}
    for entry in manifest["jobs"]:
        key = (entry["repo"], entry["task_id"], tuple(entry["features"]))
        job_dir = out / entry["dir"]
        result = json.loads((job_dir / "result.json").read_text())
        evaluation = json.loads((job_dir / "eval.json").read_text())
        merge = evaluation["merge"]
        outcome = (merge and merge["status"], evaluation["feature1"]["passed"],
                   evaluation["feature2"]["passed"])
        assert outcome == expected_outcome(entry["setting"], key), (entry["setting"], key)
        assert entry["both_passed"] == (outcome[1] and outcome[2])
        # The store keeps each feature's result by feature id, in the job's feature order.
        assert evaluations[entry["id"]].feature_results == {
            str(fid): evaluation[f"feature{i}"]["passed"] for i, fid in enumerate(entry["features"], 1)}
        assert result["log_dir"] == str(job_dir)  # as upstream writes it: under the logs root given
        assert result["run_name"] == f"{run}-{entry['setting']}"  # the run folder's name
        a, b = key[2]
        if entry["setting"] == Setting.solo:
            assert job_dir.name == f"f{a}_f{b}"
            assert result["agent"]["status"] == ("Error" if key in SOLO_FAILING else "Submitted")
            assert (job_dir / "solo.patch").read_text().strip()
        else:
            assert set(result["agents"]) == {"agent1", "agent2"}
            assert json.loads((job_dir / "conversation.json").read_text()) == []
            for agent_id, fid in (("agent1", a), ("agent2", b)):
                assert result["agents"][agent_id]["feature_id"] == fid
                patch = (job_dir / f"agent{fid}.patch").read_text()
                assert _changed_lines(patch) == _changed_lines(tasks[key[:2]].gold_patch(fid))


# Both databases: SQLite with many worker processes racing for one job is a real deployment.
@pytest.mark.both_databases
def test_a_message_delivered_many_times_runs_the_job_once(settings, demo_images, docker_client,
                                                          tmp_path, redis_client):
    run = f"dup-{settings.queue[-8:]}"
    store = Store(settings.database_url)
    request = run_request(run, demo_images, demo_pairs("ledger_task"))
    report = enqueue_run(settings, request)  # no worker yet: the messages wait in Redis
    with store.session() as session:
        job_ids = session.scalars(select(Job.id).where(Job.run_name == run)).all()
    Publisher(settings).publish(job_ids * 3)  # every job's message three more times
    assert queue_length(redis_client, settings.queue) == report.published + 3 * len(job_ids)
    with LocalWorkers(settings, count=2, concurrency=2, log_dir=tmp_path / "logs") as workers:
        wait_until_finished(store, run, workers)
        # let the duplicates be consumed too
        wait_until(lambda: queue_length(redis_client, settings.queue) == 0, "the queue to empty", 30)
    with store.session() as session:
        attempts = session.scalars(select(Attempt).join(Job).where(Job.run_name == run)).all()
        states = session.scalars(select(Job.state).where(Job.run_name == run)).all()
    assert sorted(states) == ["done"] * len(job_ids)
    assert len(attempts) == len(job_ids)  # one attempt each, however many deliveries
    wait_run_containers_removed(docker_client, run)


def _changed_lines(patch: str) -> list[str]:
    """The +/- lines of a patch, which any correct re-diff of the same change keeps."""
    return [line for line in patch.splitlines()
            if line[:1] in "+-" and not line.startswith(("+++", "---"))]
