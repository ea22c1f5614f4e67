"""``coopbench status --json`` during and after a run on real workers, and the stuck-job
view of a job whose worker went silent."""

import json
import time
from datetime import timedelta

from sqlalchemy import select, update

from coopbench.dataset.tasks import demo_dataset_path, discover_pairs
from coopbench.job.setting import Setting
from coopbench.ops.localcluster import LocalWorkers
from coopbench.store import Job, JobState, Store, utcnow
from scheduler.enqueue import enqueue_run
from tests.support.runs import run_request, wait_until_finished


def status_json(cli, run: str) -> dict:
    result = cli("status", "--run", run, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


# About what status shows: one database (PostgreSQL, as many hosts use) is enough.
def test_status_json_during_and_after_a_run(cli, settings, demo_images, tmp_path):
    run = f"status-{settings.queue[-8:]}"
    store = Store(settings.database_url)
    pairs = discover_pairs(demo_dataset_path())[:4]  # enough to watch some run, some wait
    request = run_request(run, demo_images, pairs, settings=[Setting.solo, Setting.coop])
    seen_running = []
    with LocalWorkers(settings, 2, 2, tmp_path / "logs", name_prefix="st") as workers:
        enqueue_run(settings, request)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            state = status_json(cli, run)
            seen_running += state["running"]
            if state["jobs"]["finished"] == state["jobs"]["total"]:
                break
            time.sleep(0.3)
        wait_until_finished(store, run, workers)
        final = status_json(cli, run)

    assert seen_running, "a job was seen running"
    job = seen_running[0]
    assert job["host"] and job["worker"].startswith("st") and job["attempt"] == 1
    assert job["age_seconds"] >= 0 and job["heartbeat_seconds_ago"] is not None
    assert not job["stuck"]
    assert final["jobs"]["total"] == final["jobs"]["finished"] == final["jobs"]["done"] == 8
    assert final["by_setting"] == {"solo": {"done": 4}, "coop": {"done": 4}}
    assert final["running"] == [] and final["stuck"] == [] and final["eta_seconds"] == 0.0
    assert final["attempts"] == {"total": 8, "done": 8}
    assert final["cost"] == {"spent_usd": 0.0, "unknown_jobs": 0}
    workers_seen = [w for w in final["workers"] if w["name"].startswith("st")]
    assert len(workers_seen) == 2 and all(w["alive"] and w["concurrency"] == 2 for w in workers_seen)
    assert all(settings.queue in w["queues"] for w in workers_seen)


def test_a_running_job_whose_lease_expired_is_shown_stuck(cli, settings, demo_images):
    run = f"stuck-{settings.queue[-8:]}"
    request = run_request(run, demo_images, settings=[Setting.solo])
    enqueue_run(settings, request)
    store = Store(settings.database_url)
    past = utcnow() - timedelta(minutes=5)
    with store.session() as session, session.begin():
        job_id = session.scalars(select(Job.id).where(Job.run_name == run)).first()
        session.execute(update(Job).where(Job.id == job_id).values(
            state=JobState.running, lease_owner="gone@host:1", attempts=1, started_at=past,
            heartbeat_at=past, lease_expires_at=past + timedelta(seconds=60)))
    state = status_json(cli, run)
    assert state["stuck"] == [job_id]
    assert state["running"][0]["stuck"] and state["running"][0]["heartbeat_seconds_ago"] >= 299
    assert state["jobs"]["running"] == 1 and state["jobs"]["queued"] == 11
    assert state["eta_seconds"] is None  # nothing finished yet: no throughput to go by
    assert "stuck" in cli("status", "--run", run).stdout  # the human view says it too
