"""A job's time limit holds whatever its agent threads are doing: here the agent's model
call hangs (the scripted provider answers after a minute), so the agent thread is blocked
in litellm when Celery's soft time limit fires. The job records the timeout and its
containers are gone within seconds of the limit, not when the model call returns."""

import time

import pytest
import yaml
from sqlalchemy import select

from coopbench.dataset.tasks import demo_dataset_path
from coopbench.ops.localcluster import LocalWorkers
from coopbench.store import Attempt, Job, Store
from tests.support.containers import run_containers
from tests.support.fakellm import FakeLLM, bash
from tests.support.polling import wait_until
from tests.support.runs import FAKE_MODEL

pytestmark = pytest.mark.docker

JOB_TIMEOUT_S = 12  # Celery's soft time limit of each job
AGENT_WALL_S = 10  # below it, as the settings require
HANG_S = 90  # the model call: far beyond both
SLACK_S = 8  # the limit's signal, stopping containers, recording the attempt


def test_a_soft_time_limit_is_recorded_while_an_agent_thread_blocks(
        settings, cli, demo_images, docker_client, tmp_path):
    env = {"COOPBENCH_JOB_TIMEOUT_S": str(JOB_TIMEOUT_S), "COOPBENCH_AGENT_WALL_S": str(AGENT_WALL_S),
           "COOPBENCH_INFRA_RETRIES": "0", "OPENAI_API_KEY": "sk-test"}
    run = f"limit-{settings.queue[-8:]}"
    store = Store(settings.database_url)
    asked: list[float] = []

    def hang(messages):  # the agent's first model call never comes back in time
        asked.append(time.monotonic())
        time.sleep(HANG_S)
        return bash("true")

    with FakeLLM({"*": [hang]}) as llm:
        config = tmp_path / "agent.yaml"
        config.write_text(yaml.safe_dump({"config": {"model": {"model_kwargs": {"api_base": llm.url}}}}))
        with LocalWorkers(settings, 1, 1, tmp_path / "logs", extra_env=env) as workers:
            enqueued = cli("enqueue", "--run", run, "--dataset", str(demo_dataset_path()),
                           "--repo", "ledger_task", "--features", "1,3", "--settings", "coop",
                           "--model", FAKE_MODEL, "--agent-config", str(config),
                           "--image-template", demo_images, "--no-check-model", **env)
            assert enqueued.returncode == 0, enqueued.stderr
            wait_until(lambda: _job(store, run).state == "failed_infra", "the job's time limit",
                       JOB_TIMEOUT_S + 60, 0.2, alive=workers.alive)
            recorded_at = time.monotonic()
            assert not run_containers(docker_client, run), "the job's containers are stopped"
            assert workers.alive()  # the pool process lives on for the next job
    job = _job(store, run)
    with store.session() as session:
        [attempt] = session.scalars(select(Attempt).where(Attempt.job_id == job.id)).all()
    assert asked and recorded_at - asked[0] < HANG_S  # not waiting for the model call
    assert (attempt.state, attempt.error_class) == ("failed_infra", "infra")
    assert "SoftTimeLimitExceeded" in attempt.error
    took_s = (attempt.finished_at - attempt.started_at).total_seconds()
    assert JOB_TIMEOUT_S - 1 <= took_s <= JOB_TIMEOUT_S + SLACK_S, took_s


def _job(store: Store, run: str) -> Job:
    with store.session() as session:
        return session.scalars(select(Job).where(Job.run_name == run)).one()
