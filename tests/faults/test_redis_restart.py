"""Redis restarted without persistence while jobs wait in it: every message is gone, the
store still says what is to do, and the sweeper publishes it again. Each job then runs
once."""

import re
import signal
import subprocess

import pytest
from sqlalchemy import select

from coopbench.job.setting import Setting
from coopbench.ops.localcluster import LocalWorkers
from coopbench.store import Attempt, Evaluation, Job, Store
from scheduler.enqueue import enqueue_run
from tests.conftest import COOPBENCH
from tests.faults.conftest import cli_env, ledger_request, waiting_task_ids
from tests.support.containers import wait_run_containers_removed
from tests.support.polling import wait_until
from tests.support.redis_server import RedisServer

pytestmark = pytest.mark.docker

DEADLINE_S = 120


def test_jobs_lost_with_redis_are_published_again_and_run_once(fault_settings, demo_images,
                                                               docker_client, tmp_path):
    server = RedisServer(tmp_path / "redis").start()
    settings = fault_settings.model_copy(update={"broker_url": server.url})
    run = f"restart-{settings.queue[-8:]}"
    request = ledger_request(run, demo_images, [(1, 3), (1, 4)], [Setting.solo, Setting.coop])
    job_ids = [job.job_id for job in request.jobs()]
    store = Store(settings.database_url)
    enqueue_run(settings, request)  # no worker yet: the messages wait in Redis
    client = server.client()
    assert waiting_task_ids(client, settings.queue) == {job_id: 1 for job_id in job_ids}
    server.kill()
    server.start()  # same port, empty
    assert waiting_task_ids(client, settings.queue) == {}

    worker = LocalWorkers(settings, 1, 2, tmp_path / "worker", "after-restart")
    sweeper = subprocess.Popen([COOPBENCH, "sweep", "--interval", "1"], env=cli_env(settings),
                               cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    try:
        worker.start()
        wait_until(lambda: set(_states(store, job_ids).values()) == {"done"},
                   lambda: f"every job done: {_states(store, job_ids)}", DEADLINE_S, 0.3,
                   worker.alive)
    finally:
        sweeper.send_signal(signal.SIGTERM)
        out, err = sweeper.communicate(timeout=30)
        worker.stop()
        server.kill()
    assert sweeper.returncode == 0, err
    assert sum(map(int, re.findall(r"republished_lost=(\d+)", out))) == len(job_ids), out
    with store.session() as session:
        for job_id in job_ids:
            attempts = session.scalars(select(Attempt.state).where(Attempt.job_id == job_id)).all()
            evaluations = session.scalars(select(Evaluation.state)
                                          .where(Evaluation.job_id == job_id)).all()
            assert (attempts, evaluations) == (["done"], ["done"]), job_id
    wait_run_containers_removed(docker_client, run)


def _states(store: Store, job_ids: list[str]) -> dict[str, str]:
    with store.session() as session:
        return dict(session.execute(select(Job.id, Job.state).where(Job.id.in_(job_ids))).all())
