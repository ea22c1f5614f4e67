"""A hung Docker engine under a running job (issue 14): the worker's engine is a socket that
forwards to the real one until it accepts and never answers (tests/sandbox/docker_proxy.py;
the real engine is shared, it cannot be paused). The job, in the middle of a silent command
whose own limit is hours, ends failed_infra within a few API timeouts; once the engine
answers again, the same worker process runs the next job to done, and its cleanup removes
the container the hang left."""

import shutil
import tempfile
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from coopbench.job.setting import Setting
from coopbench.ops.localcluster import LocalWorkers
from coopbench.store import Attempt, Job, Store
from scheduler.enqueue import enqueue_run
from tests.faults.conftest import SWEEP_INTERVAL_S, ledger_request
from tests.sandbox.docker_proxy import HangingDockerProxy
from tests.support.containers import run_containers
from tests.support.polling import wait_until

pytestmark = pytest.mark.docker

DOCKER_TIMEOUT_S = 5
# The next check of the engine comes within one API timeout and goes unanswered for another;
# the container's removal for a third. The rest is recording it, on a busy 2-core machine.
FAIL_BOUND_S = 3 * DOCKER_TIMEOUT_S + 15
DEADLINE_S = 180


@pytest.fixture
def proxy():
    directory = Path(tempfile.mkdtemp(prefix="dkp"))  # a unix socket path must be short
    with HangingDockerProxy(directory / "docker.sock") as running:
        yield running
    shutil.rmtree(directory, ignore_errors=True)


def test_a_hung_engine_fails_the_job_as_infra_and_the_worker_runs_the_next(
        fault_settings, queue, slow_images, demo_images, docker_client, proxy, tmp_path):
    settings = fault_settings
    hung_run, next_run = f"hung-{queue[-8:]}", f"after-{queue[-8:]}"
    env = {"DOCKER_HOST": proxy.url, "COOPBENCH_DOCKER_TIMEOUT_S": str(DOCKER_TIMEOUT_S),
           "COOPBENCH_INFRA_RETRIES": "0",  # straight to failed_infra, no retry to wait for
           "COOPBENCH_SWEEP_INTERVAL_S": str(SWEEP_INTERVAL_S)}
    store = Store(settings.database_url)
    worker = LocalWorkers(settings, 1, 1, tmp_path / "worker", "hung", env)
    log_file = tmp_path / "worker" / "worker-1.log"
    try:
        worker.start()
        wait_until(lambda: log_file.exists() and " ready." in log_file.read_text(),
                   "the worker to be ready", alive=worker.alive)
        enqueue_run(settings, ledger_request(hung_run, slow_images, [(1, 3)], [Setting.solo]))
        # Mid-command: the oracle's `git apply` sleeps (the slow image), printing nothing.
        wait_until(lambda: _sleeping(docker_client, hung_run), "the oracle's command to run",
                   timeout_s=DEADLINE_S, alive=worker.alive)
        proxy.hang()
        hung_at = time.monotonic()
        wait_until(lambda: _job(store, hung_run).state == "failed_infra",
                   lambda: f"the job to fail (it is {_job(store, hung_run).state})",
                   timeout_s=FAIL_BOUND_S, interval_s=0.5, alive=worker.alive)
        failed_after_s = time.monotonic() - hung_at
        proxy.resume()

        enqueue_run(settings, ledger_request(next_run, demo_images, [(1, 3)], [Setting.solo]))
        wait_until(lambda: _job(store, next_run).state == "done",
                   lambda: f"the next job to be done (it is {_job(store, next_run).state})",
                   timeout_s=DEADLINE_S, alive=worker.alive)
        # The container the hang left: the worker's cleanup, once the engine answers.
        wait_until(lambda: run_containers(docker_client, hung_run) == [],
                   "the hung job's container to be removed", timeout_s=60, alive=worker.alive)
        assert worker.alive()
    finally:
        worker.stop()

    assert failed_after_s < FAIL_BOUND_S
    [hung] = _attempts(store, hung_run)
    [after] = _attempts(store, next_run)
    assert (hung.state, hung.error_class) == ("failed_infra", "infra")
    assert "Docker engine did not answer" in hung.error, hung.error
    assert _job(store, hung_run).attempts == 1
    assert (after.state, _job(store, next_run).both_passed) == ("done", True)
    assert after.worker == hung.worker  # the same pool process ("hung1@host:pid")
    assert run_containers(docker_client, next_run) == []


def _sleeping(docker_client, run: str) -> bool:
    """Whether a container of ``run`` runs the slow `git apply`'s sleep."""
    for name in run_containers(docker_client, run):
        try:
            processes = docker_client.api.top(name)["Processes"] or []
        except Exception:  # not started yet, or gone
            continue
        if any("sleep" in " ".join(process) for process in processes):
            return True
    return False


def _job(store: Store, run: str) -> Job:
    with store.session() as session:
        return session.scalars(select(Job).where(Job.run_name == run)).one()


def _attempts(store: Store, run: str) -> list[Attempt]:
    with store.session() as session:
        return session.scalars(select(Attempt).join(Job).where(Job.run_name == run)
                               .order_by(Attempt.number)).all()
