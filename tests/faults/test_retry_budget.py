"""One retry budget for every path to a new attempt: a job that kills its worker whenever
it runs (as a job that runs its host out of memory does) ends ``failed_infra`` after exactly
``infra_retries + 1`` attempts, each recorded as a lost worker, and is never claimed again."""

import os
import signal
import subprocess
import time

import pytest
import yaml
from sqlalchemy import select

from coopbench.dataset.tasks import demo_dataset_path
from coopbench.ops.localcluster import LocalWorkers
from coopbench.sandbox.cleanup import remove_orphans
from coopbench.store import Attempt, Job, Store
from coopbench.store.claims import WORKER_LOST
from tests.conftest import COOPBENCH
from tests.faults.conftest import cli_env
from tests.support.containers import wait_run_containers_removed
from tests.support.fakellm import FakeLLM, bash
from tests.support.runs import FAKE_MODEL

pytestmark = pytest.mark.docker

INFRA_RETRIES = 1
DEADLINE_S = 150


def test_a_job_that_kills_its_worker_ends_failed_infra_after_its_budget(
        fault_settings, cli, demo_images, docker_client, tmp_path):
    settings = fault_settings.model_copy(update={"infra_retries": INFRA_RETRIES})
    budget_env = {"COOPBENCH_INFRA_RETRIES": str(INFRA_RETRIES), "OPENAI_API_KEY": "sk-test"}
    run = f"budget-{settings.queue[-8:]}"
    workers: list[LocalWorkers] = []
    kills: list[float] = []

    def kill_the_asking_worker(messages):  # the agent's first model call kills its worker
        os.killpg(workers[-1].processes[0].pid, signal.SIGKILL)
        kills.append(time.monotonic())
        return bash("true")

    def new_worker() -> None:
        worker = LocalWorkers(settings, 1, 1, tmp_path / f"w{len(workers)}", f"w{len(workers)}",
                              budget_env)
        workers.append(worker)
        worker.start()

    store = Store(settings.database_url)
    sweeper = None
    with FakeLLM({"*": [kill_the_asking_worker] * 10}) as llm:
        config = tmp_path / "agent.yaml"
        config.write_text(yaml.safe_dump({"config": {"model": {"model_kwargs": {"api_base": llm.url}}}}))
        try:
            new_worker()
            enqueued = cli("enqueue", "--run", run, "--dataset", str(demo_dataset_path()),
                           "--repo", "ledger_task", "--features", "1,3", "--settings", "solo",
                           "--model", FAKE_MODEL, "--agent-config", str(config),
                           "--image-template", demo_images, "--no-check-model", **budget_env)
            assert enqueued.returncode == 0, enqueued.stderr
            sweeper = subprocess.Popen([COOPBENCH, "sweep", "--interval", "1"],
                                       env={**cli_env(settings), **budget_env}, cwd=tmp_path,
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            deadline = time.monotonic() + DEADLINE_S
            while _job(store, run).state != "failed_infra":
                assert time.monotonic() < deadline, (_job(store, run).state, len(kills))
                if not workers[-1].alive():  # a killed worker's host comes back
                    workers[-1].processes[0].wait()
                    new_worker()
                time.sleep(0.2)
            # A live worker and the sweeper, a few more sweep periods: nothing claims it again.
            if not workers[-1].alive():
                new_worker()
            time.sleep(4 * settings.sweep_interval_s)
        finally:
            if sweeper is not None:
                sweeper.send_signal(signal.SIGTERM)
                sweeper.communicate(timeout=30)
            for worker in workers:
                worker.stop()

    job = _job(store, run)
    with store.session() as session:
        attempts = session.scalars(select(Attempt).where(Attempt.job_id == job.id)
                                   .order_by(Attempt.number)).all()
    assert len(kills) == INFRA_RETRIES + 1
    assert (job.state, job.attempts) == ("failed_infra", INFRA_RETRIES + 1)
    assert f"{INFRA_RETRIES + 1} attempts are spent" in job.error
    assert [(a.state, a.error) for a in attempts] == [("failed_infra", WORKER_LOST)] * (INFRA_RETRIES + 1)
    remove_orphans(store, docker_client)  # what the killed workers left, as any cleanup pass
    wait_run_containers_removed(docker_client, run)


def _job(store: Store, run: str) -> Job:
    with store.session() as session:
        return session.scalars(select(Job).where(Job.run_name == run)).one()
