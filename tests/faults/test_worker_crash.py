"""A worker SIGKILLed in the middle of a job: the sweeper rings again once its lease runs
out, another worker finishes the job exactly once, and that worker's cleanup removes the
dead worker's container within one sweep period."""

import os
import signal
import subprocess
import time

import pytest
from sqlalchemy import select

from coopbench.job.setting import Setting
from coopbench.ops.localcluster import LocalWorkers
from coopbench.store import AgentRun, Artifact, Attempt, Evaluation, Job, Store, utcnow
from scheduler.enqueue import enqueue_run
from tests.conftest import COOPBENCH
from tests.faults.conftest import SWEEP_INTERVAL_S, cli_env, ledger_request
from tests.support.containers import run_containers, wait_run_containers_removed

pytestmark = pytest.mark.docker

DEADLINE_S = 120
REMOVAL_SLACK_S = 3  # a cleanup pass itself, and this test's polling


def containers(docker_client, run: str, attempt: str) -> list[str]:
    return run_containers(docker_client, run, f"coopbench.attempt={attempt}")


def test_a_killed_workers_job_is_finished_once_by_another(fault_settings, queue, slow_images,
                                                           docker_client, tmp_path):
    settings = fault_settings
    run = f"crash-{queue[-8:]}"
    request = ledger_request(run, slow_images, [(1, 3)], [Setting.solo])
    [(_, _, job_id, _)] = request.jobs()
    store = Store(settings.database_url)
    env = {"COOPBENCH_SWEEP_INTERVAL_S": str(settings.sweep_interval_s)}
    doomed = LocalWorkers(settings, 1, 1, tmp_path / "doomed", "doomed", env)
    rescuer = LocalWorkers(settings, 1, 1, tmp_path / "rescuer", "rescuer", env)
    sweeper = None
    try:
        doomed.start()
        enqueue_run(settings, request)
        deadline = time.monotonic() + DEADLINE_S
        # Mid-job: claimed, and its agent's container up (the oracle sleeps in `git apply`).
        while not (_job(store, job_id).state == "running" and containers(docker_client, run, "1")):
            assert time.monotonic() < deadline and doomed.alive(), "the job never started"
            time.sleep(0.1)
        os.killpg(doomed.processes[0].pid, signal.SIGKILL)  # the worker and its pool, at once
        doomed.processes[0].wait()
        dead_lease_expires_in_s = (_job(store, job_id).lease_expires_at - utcnow()).total_seconds()
        lease_expired_at = time.monotonic() + dead_lease_expires_in_s
        assert containers(docker_client, run, "1"), "the dead worker's container is left"

        rescuer.start()
        sweeper = subprocess.Popen([COOPBENCH, "sweep", "--interval", "1"], env=cli_env(settings),
                                   cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   text=True)
        rescuer_log = tmp_path / "rescuer" / "worker-1.log"
        ready_at = orphan_gone_at = None
        while _job(store, job_id).state != "done" or orphan_gone_at is None:
            assert time.monotonic() < deadline, (_job(store, job_id).state, orphan_gone_at)
            assert rescuer.alive(), rescuer_log.read_text()
            if ready_at is None and rescuer_log.exists() and " ready." in rescuer_log.read_text():
                ready_at = time.monotonic()
            if orphan_gone_at is None and not containers(docker_client, run, "1"):
                orphan_gone_at = time.monotonic()
            time.sleep(0.2)
        assert ready_at is not None
        # Removed by the rescuer's cleanup thread (this sweeper has no --cleanup) within one
        # period of the lease running out or the worker starting, whichever came last.
        removal_bound = max(lease_expired_at, ready_at) + SWEEP_INTERVAL_S + REMOVAL_SLACK_S
        assert orphan_gone_at <= removal_bound, (orphan_gone_at - max(lease_expired_at, ready_at))
    finally:
        if sweeper is not None:
            sweeper.send_signal(signal.SIGTERM)
            out, err = sweeper.communicate(timeout=30)
        rescuer.stop()
        doomed.stop()
    assert sweeper.returncode == 0, err
    assert "republished_expired=1" in out, out

    job = _job(store, job_id)
    assert (job.state, job.attempts, job.both_passed) == ("done", 2, True)
    with store.session() as session:
        attempts = session.scalars(select(Attempt).where(Attempt.job_id == job_id)
                                   .order_by(Attempt.number)).all()
        evaluations = session.scalars(select(Evaluation).where(Evaluation.job_id == job_id)).all()
        agent_runs = session.scalars(select(AgentRun).join(Attempt)
                                     .where(Attempt.job_id == job_id)).all()
        first_attempt_files = session.scalars(select(Artifact.name).where(
            Artifact.attempt_id == attempts[0].id)).all()
    assert [(a.number, a.state) for a in attempts] == [(1, "failed_infra"), (2, "done")]
    assert attempts[0].error.startswith("worker lost")
    assert attempts[0].worker.startswith("doomed1@") and attempts[1].worker.startswith("rescuer1@")
    # Exactly one result: one agents' stage, one evaluation, both of the second attempt.
    assert job.agents_attempt_id == attempts[1].id
    assert [r.attempt_id for r in agent_runs] == [attempts[1].id]
    assert [(e.state, e.attempt_id, e.id) for e in evaluations] == [
        ("done", attempts[1].id, job.evaluation_id)]
    assert first_attempt_files == []
    wait_run_containers_removed(docker_client, run)


def _job(store: Store, job_id: str) -> Job:
    with store.session() as session:
        return session.get(Job, job_id)
