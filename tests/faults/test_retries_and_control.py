"""Error classes, retries, cancel, retry and the cost cap, with real worker processes.

- An image whose containers cannot start is an infrastructure failure: the job is tried
  ``infra_retries`` more times, each attempt kept, then it is failed_infra; the run's other
  jobs go on. A missing image the run never pulls (``--pull never``) is a configuration
  error: failed at once, one attempt.
- ``coopbench cancel`` stops queued jobs from starting and a running job's containers
  within a third of its lease; ``coopbench retry`` puts them back and they finish.
- A run's cost cap: once spent, no new job starts; ``retry --cost-cap 0`` lifts it.
"""

import io
import os
import signal
import tarfile
import time

import pytest

from coopbench.dataset.images import image_name
from coopbench.job.runner import Services, run_job
from coopbench.job.setting import Setting
from coopbench.ops.localcluster import LocalWorkers
from coopbench.store import JobState, Store
from scheduler.control import cancel_run, retry_run
from scheduler.enqueue import enqueue_run
from tests.support.containers import run_containers, wait_run_containers_removed
from tests.support.fakellm import FakeLLM, apply_patch_command, bash, submit
from tests.support.polling import wait_until
from tests.support.runs import (
    attempts_of,
    demo_pairs,
    demo_task,
    jobs_of,
    llm_request,
    run_jobs,
    run_request,
    wait_until_finished,
)

FAULT_TEMPLATE = "coopbench-faults-{slug}:task{task_id}"


@pytest.fixture(scope="module")
def fault_images(docker_client, demo_images):
    """textkit: the real demo image. ledger: an image with no ``sleep``, so every container
    of it fails to start (the Docker engine refuses it), as a broken host or image would."""
    docker_client.images.get(image_name(demo_images, "textkit_task", 1)).tag(
        image_name(FAULT_TEMPLATE, "textkit_task", 1))
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w") as tar:
        info = tarfile.TarInfo("README")
        info.size = 6
        tar.addfile(info, io.BytesIO(b"empty\n"))
    repository, tag = image_name(FAULT_TEMPLATE, "ledger_task", 0).split(":")
    docker_client.api.import_image_from_data(archive.getvalue(), repository=repository, tag=tag)
    return FAULT_TEMPLATE


def test_infra_failures_are_retried_with_backoff_then_failed_infra(
        settings, fault_images, docker_client, tmp_path):
    settings = settings.model_copy(update={"infra_retries": 2, "retry_backoff_s": 0.5})
    run = f"infra-{settings.queue[-8:]}"
    store = Store(settings.database_url)
    request = run_request(run, fault_images, demo_pairs("ledger_task") + demo_pairs("textkit_task"),
                          settings=[Setting.coop])
    env = {"COOPBENCH_INFRA_RETRIES": "2", "COOPBENCH_RETRY_BACKOFF_S": "0.5"}
    with LocalWorkers(settings, 2, 1, tmp_path / "logs", extra_env=env) as workers:
        enqueue_run(settings, request)
        wait_until_finished(store, run, workers)
    jobs = jobs_of(store, run)
    assert jobs["textkit_task"].state == JobState.done  # the run went on
    broken = jobs["ledger_task"]
    assert broken.state == JobState.failed_infra and "SandboxError" in broken.error
    attempts = attempts_of(store, broken.id)
    assert [(a.state, a.error_class) for a in attempts] == [("failed_infra", "infra")] * 3
    gaps = [(b.started_at - a.finished_at).total_seconds() for a, b in zip(attempts, attempts[1:])]
    assert all(gap >= 0.2 for gap in gaps), gaps  # backoff: 0.5 s then 1 s, +-50 %
    wait_run_containers_removed(docker_client, run)


def test_a_retry_outlives_the_worker_that_scheduled_it(settings, fault_images, tmp_path):
    """The worker that recorded a retry dies during its backoff: the retry is a due time in
    the store, not a delayed message that worker held (which would wait for the broker's
    visibility timeout, hours), so another worker runs it within the backoff and a poll."""
    backoff_s, poll_s = 4.0, 1.0
    settings = settings.model_copy(update={"infra_retries": 1, "retry_backoff_s": backoff_s,
                                           "retry_poll_s": poll_s})
    run = f"outlive-{settings.queue[-8:]}"
    store = Store(settings.database_url)
    request = run_request(run, fault_images, demo_pairs("ledger_task"), settings=[Setting.solo])
    env = {"COOPBENCH_INFRA_RETRIES": "1"}
    scheduler = LocalWorkers(settings, 1, 1, tmp_path / "first", "first", env)
    successor = LocalWorkers(settings, 1, 1, tmp_path / "second", "second", env)
    try:
        scheduler.start()
        successor.start()  # up and idle: it has nothing to do until the retry is due
        enqueue_run(settings, request)
        wait_until(lambda: jobs_of(store, run)["ledger_task"].state == JobState.queued
                   and jobs_of(store, run)["ledger_task"].attempts == 1,
                   "the first attempt to fail and its retry to be recorded", 60, 0.05)
        os.killpg(scheduler.processes[0].pid, signal.SIGKILL)
        scheduler.processes[0].wait()
        wait_until_finished(store, run, successor, timeout_s=60)
    finally:
        successor.stop()
        scheduler.stop()
    job = jobs_of(store, run)["ledger_task"]
    first, second = attempts_of(store, job.id)
    assert job.state == JobState.failed_infra and (first.state, second.state) == (
        "failed_infra", "failed_infra")
    assert second.worker.startswith("second")
    gap_s = (second.started_at - first.finished_at).total_seconds()
    assert 0.5 * backoff_s - 0.1 <= gap_s <= 1.5 * backoff_s + poll_s + 3, gap_s


def test_a_missing_image_that_the_run_never_pulls_fails_the_job_at_once(settings, demo_images):
    run = f"noimage-{settings.queue[-8:]}"
    request = run_request(run, "coopbench-no-such-image-{slug}:task{task_id}",
                          demo_pairs("ledger_task"), settings=[Setting.solo], pull="never")
    enqueue_run(settings, request)
    store = Store(settings.database_url)
    job = jobs_of(store, run)["ledger_task"]
    assert run_job(job.id, Services(settings, "test-worker")) == JobState.failed
    job = jobs_of(store, run)["ledger_task"]
    assert "is not on host" in job.error and "--pull missing" in job.error
    assert [(a.state, a.error_class) for a in attempts_of(store, job.id)] == [("failed", "config")]


def test_cancel_stops_queued_and_running_jobs_and_retry_finishes_them(
        settings, demo_images, docker_client, redis_client, tmp_path, monkeypatch):
    """One worker, one job at a time: the LLM job runs a long command when cancelled; the
    oracle jobs queued behind it never start. Retry then runs everything to the end."""
    settings = settings.model_copy(update={"lease_s": 3})
    monkeypatch.setenv("OPENAI_API_KEY", "sk-fault-tests-0000000000")
    store = Store(settings.database_url)
    gold = demo_task("ledger_task").gold_patch
    with FakeLLM({"solo": [bash("sleep 60")]}) as llm:
        run = f"cancel-{settings.queue[-8:]}"
        request = llm_request(run, demo_images, llm.url, demo_pairs("ledger_task", 3))
        env = {"COOPBENCH_LEASE_S": "3", "OPENAI_API_KEY": "sk-fault-tests-0000000000"}
        with LocalWorkers(settings, 1, 1, tmp_path / "logs", extra_env=env) as workers:
            enqueue_run(settings, request)
            wait_until(lambda: run_containers(docker_client, run),  # the first job's agent works
                       "the first job's containers", 60, alive=workers.alive)
            time.sleep(1)
            report = cancel_run(settings, run)
            assert report.jobs == 3
            wait_until(lambda: not run_containers(docker_client, run),
                       "the containers to go within a lease third", 3, 0.1)
            time.sleep(2)  # the queued jobs' messages are delivered: they must not start
            states = {j.state for j in run_jobs(store, run)}
            assert states == {JobState.cancelled}
            attempts = [a for j in run_jobs(store, run) for a in attempts_of(store, j.id)]
            assert [a.state for a in attempts] == ["abandoned"]  # only the running one started

            # Retry: every job again (the LLM script answers the solved steps for all three).
            llm.add("solo", *[bash(apply_patch_command(gold(1))), submit()] * 3)
            assert retry_run(settings, run).jobs == 3
            wait_until_finished(store, run, workers)
    assert {j.state for j in run_jobs(store, run)} == {JobState.done}
    wait_run_containers_removed(docker_client, run)


def test_a_cost_cap_stops_new_jobs_and_retry_lifts_it(settings, demo_images, monkeypatch, tmp_path):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-fault-tests-0000000000")
    gold = demo_task("ledger_task").gold_patch
    solve = [bash(apply_patch_command(gold(1))), submit()]
    prices = {"input_cost_per_token": 1e-3, "output_cost_per_token": 1e-3}  # $0.24 a job
    with FakeLLM({"solo": solve * 3}) as llm:
        run = f"cap-{settings.queue[-8:]}"
        request = llm_request(run, demo_images, llm.url, demo_pairs("ledger_task", 3),
                              cost_cap_usd=0.2, agent_config={"model_prices": prices})
        enqueue_run(settings, request)
        store = Store(settings.database_url)
        services = Services(settings, "test-worker")
        ids = [j.id for j in sorted(run_jobs(store, run), key=lambda j: j.id)]
        states = [run_job(job_id, services) for job_id in ids]  # one after another
        assert states == [JobState.done, None, None]
        jobs = {j.id: j for j in run_jobs(store, run)}
        assert jobs[ids[0]].cost_usd == pytest.approx(0.24)
        for job_id in ids[1:]:
            assert jobs[job_id].state == JobState.cancelled
            assert "cost cap reached: $0.24 spent of $0.20" in jobs[job_id].error
            assert attempts_of(store, job_id) == []  # never started

        retry_run(settings, run, cost_cap_usd=0)
        assert [run_job(job_id, services) for job_id in ids[1:]] == [JobState.done] * 2
