"""PostgreSQL restarted in the middle of a run: workers' writes wait for it and go through
(pre-ping, reconnect, the write retried), and the run completes with one result per job."""

import glob
import subprocess
import time
import uuid

import pytest
from sqlalchemy import func, select

from coopbench.config import Settings
from coopbench.job.setting import Setting
from coopbench.ops.localcluster import LocalWorkers
from coopbench.store import Attempt, Job, JobState, Store
from scheduler.enqueue import enqueue_run
from tests.faults.conftest import LEASE_S, ledger_request
from tests.support.containers import run_containers, wait_run_containers_removed
from tests.support.polling import wait_until
from tests.support.runs import wait_until_finished

pytestmark = [pytest.mark.docker, pytest.mark.postgres]
PAIRS = [(1, 2), (1, 3), (1, 4), (2, 3), (2, 4), (3, 4)]


def restart_postgresql() -> None:
    version = glob.glob("/etc/postgresql/*")[0].rsplit("/", 1)[1]
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"],
                   check=True, capture_output=True, timeout=60)


def test_a_run_survives_a_postgresql_restart(pg_url, fault_redis, slow_images, docker_client,
                                             tmp_path):
    settings = Settings(database_url=pg_url, broker_url=fault_redis.url, lease_s=LEASE_S * 3,
                        queue=f"coopbench-test-{uuid.uuid4().hex[:8]}")
    run = f"pgrestart-{settings.queue[-8:]}"
    store = Store(settings.database_url)
    with LocalWorkers(settings, 2, 2, tmp_path / "logs") as workers:
        enqueue_run(settings, ledger_request(run, slow_images, PAIRS, [Setting.solo]))
        wait_until(lambda: run_containers(docker_client, run), "jobs to run", 60, alive=workers.alive)
        restart_postgresql()
        restarted_at = time.monotonic()
        wait_until_finished(store, run, workers)
        assert time.monotonic() > restarted_at
    with store.session() as session:
        states = session.scalars(select(Job.state).where(Job.run_name == run)).all()
        done_attempts = session.execute(
            select(Attempt.job_id, func.count()).join(Job).where(Job.run_name == run,
                                                                Attempt.state == "done")
            .group_by(Attempt.job_id)).all()
    assert states == [JobState.done] * len(PAIRS)
    assert sorted(n for _, n in done_attempts) == [1] * len(PAIRS)  # one result each
    wait_run_containers_removed(docker_client, run)
