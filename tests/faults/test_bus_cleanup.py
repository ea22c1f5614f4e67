"""Deleting a job's bus keys never costs its result: a Redis that refuses the deletion (here
a real Redis user without UNLINK, the command the bus deletes with, as a Redis failing just
then would) leaves a coop job done with its agents' work committed and evaluated, the
failure logged, and the keys to their expiry."""

import logging

from coopbench.job.runner import Services, run_job
from coopbench.job.setting import Setting
from coopbench.store import JobState, Store
from scheduler.enqueue import enqueue_run
from tests.support.runs import attempts_of, demo_pairs, jobs_of, run_request

USER, PASSWORD = "no-delete", "bus-cleanup-test"


def test_a_bus_that_cannot_be_deleted_costs_no_result(settings, demo_images, redis_client, caplog):
    redis_client.acl_setuser(USER, enabled=True, passwords=[f"+{PASSWORD}"], keys=["*"],
                             channels=["*"], categories=["+@all"], commands=["-unlink"])
    host, port = redis_client.connection_pool.connection_kwargs["host"], \
        redis_client.connection_pool.connection_kwargs["port"]
    bus_url = f"redis://{USER}:{PASSWORD}@{host}:{port}/0"
    settings = settings.model_copy(update={"bus_url": bus_url})
    run = f"busdel-{settings.queue[-8:]}"
    enqueue_run(settings, run_request(run, demo_images, demo_pairs("ledger_task"),
                                      settings=[Setting.coop]))
    store = Store(settings.database_url)
    job = jobs_of(store, run)["ledger_task"]
    with caplog.at_level(logging.WARNING, logger="coopbench.job.outcome"):
        state = run_job(job.id, Services(settings, "test-worker"))
    assert state == JobState.done, [a.error for a in attempts_of(store, job.id)]
    job = jobs_of(store, run)["ledger_task"]
    assert job.state == JobState.done and job.agents_attempt_id and job.evaluation_id
    assert [a.state for a in attempts_of(store, job.id)] == ["done"]  # one attempt, no re-run
    assert "its bus keys were not deleted" in caplog.text and "no permissions to run the 'unlink'" in caplog.text
    keys = redis_client.keys(f"coopbench:bus:{run}:{job.id}:*")
    assert keys and all(0 < redis_client.ttl(key) for key in keys)  # left to expire
