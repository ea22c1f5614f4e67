"""Celery over Redis redelivers a message whose job outlives the broker's visibility timeout,
even while the job still runs (celery#5935). The claim makes the second delivery a no-op."""

import time

from sqlalchemy import select

from coopbench.ops.localcluster import LocalWorkers
from coopbench.store import Attempt, Job, Store
from scheduler.enqueue import enqueue_run
from tests.support.fakellm import FakeLLM, apply_patch_command, bash, submit
from tests.support.runs import demo_pairs, demo_task, llm_request, wait_until_finished

VISIBILITY_S = 2
JOB_S = 30  # far past the visibility timeout, and past kombu's restore interval


def test_a_job_that_outlives_the_visibility_timeout_runs_once(settings, demo_images, tmp_path,
                                                              monkeypatch):
    key = "sk-fault-tests-0000000000"
    monkeypatch.setenv("OPENAI_API_KEY", key)
    gold = demo_task("ledger_task").gold_patch(1)
    run = f"visibility-{settings.queue[-8:]}"
    store = Store(settings.database_url)
    with FakeLLM({"solo": [bash(f"sleep {JOB_S}"), bash(apply_patch_command(gold)), submit()]}) as llm:
        request = llm_request(run, demo_images, llm.url, demo_pairs("ledger_task"))
        env = {"COOPBENCH_VISIBILITY_TIMEOUT_S": str(VISIBILITY_S), "OPENAI_API_KEY": key}
        logs = tmp_path / "logs"
        with LocalWorkers(settings, 2, 1, logs, extra_env=env) as workers:
            enqueue_run(settings, request)
            wait_until_finished(store, run, workers)
            time.sleep(1)
    with store.session() as session:
        job = session.scalars(select(Job).where(Job.run_name == run)).one()
        attempts = session.scalars(select(Attempt).where(Attempt.job_id == job.id)).all()
    assert job.state == "done" and len(attempts) == 1 and attempts[0].state == "done"
    worker_logs = "".join(p.read_text(errors="replace") for p in logs.glob("worker-*.log"))
    assert "not claimable" in worker_logs, "the message was redelivered while the job ran"
