"""The evaluation's container is started while the agents work, on the real Docker engine,
store and Redis: the evaluation runs in that container, scores as a container started at
its own time does, and with container slots limited none is started ahead."""

import time
from datetime import datetime

from sqlalchemy import select

from coopbench.job.runner import Services, run_job
from coopbench.job.setting import Setting
from coopbench.store import Evaluation, JobState, Store
from scheduler.enqueue import enqueue_run
from tests.support.runs import attempts_of, demo_pairs, expected_outcome, jobs_of, run_request


def container_events(docker_client, job_id: str, since: float) -> list[tuple[str, str]]:
    """(action, container name) of the job's containers since ``since``, in order."""
    events = docker_client.events(since=datetime.fromtimestamp(since),
                                  until=datetime.fromtimestamp(time.time() + 1), decode=True,
                                  filters={"type": "container", "label": f"coopbench.job={job_id}"})
    return [(event["Action"], event["Actor"]["Attributes"]["name"]) for event in events
            if event["Action"] in ("create", "start", "destroy")]


def run_one_job(settings, demo_images, run: str, services: Services) -> tuple[str, float]:
    enqueue_run(settings, run_request(run, demo_images, demo_pairs("ledger_task"),
                                      settings=[Setting.coop]))
    job = jobs_of(Store(settings.database_url), run)["ledger_task"]
    started = time.time()
    state = run_job(job.id, services)
    assert state == JobState.done, [a.error for a in attempts_of(Store(settings.database_url), job.id)]
    return job.id, started


def scored(store: Store, job_id: str) -> tuple:
    with store.session() as session:
        evaluation = session.scalars(select(Evaluation).where(Evaluation.job_id == job_id)).one()
        return (evaluation.merge_status, evaluation.merge_strategy, evaluation.naive_conflict,
                evaluation.feature_results, evaluation.both_passed, evaluation.error)


def test_the_evaluation_runs_in_the_container_started_during_the_agents(
        settings, demo_images, docker_client):
    run = f"ahead-{settings.queue[-8:]}"
    job_id, started = run_one_job(settings, demo_images, run, Services(settings, "test-worker"))

    events = container_events(docker_client, job_id, started)
    names = {name for _, name in events}
    ahead = f"coopbench-{job_id[:8]}-1-eval"
    # The two agents' containers and the one started ahead; no evaluation container of its own.
    assert names == {f"coopbench-{job_id[:8]}-1-agent1", f"coopbench-{job_id[:8]}-1-agent2", ahead}
    # Started before the agents were done: before their containers went.
    first_agent_gone = min(i for i, (action, name) in enumerate(events)
                           if action == "destroy" and name != ahead)
    assert events.index(("start", ahead)) < first_agent_gone
    assert ("destroy", ahead) in events  # and removed by the time run_job returned
    # The demo's gold patches: ledger 1+2 conflict, so neither feature counts (upstream 0.0.29).
    merge_status, _, _, results, _, _ = scored(Store(settings.database_url), job_id)
    key = ("ledger_task", 0, (1, 2))
    assert (merge_status, *results.values()) == expected_outcome(Setting.coop, key)


def test_with_container_slots_limited_none_is_started_ahead_and_the_score_is_the_same(
        settings, demo_images, docker_client):
    limited = Services(settings.model_copy(update={"max_containers": 8}), "test-worker")
    ahead_job, _ = run_one_job(settings, demo_images, f"ahead-{settings.queue[-8:]}",
                               Services(settings, "test-worker"))
    plain_job, started = run_one_job(settings, demo_images, f"plain-{settings.queue[-8:]}", limited)

    names = {name for _, name in container_events(docker_client, plain_job, started)}
    assert f"coopbench-{plain_job[:8]}-1-eval" not in names
    assert f"coopbench-{plain_job[:8]}-e1t0-eval-1" in names  # the evaluation's own, as before
    store = Store(settings.database_url)
    assert scored(store, ahead_job) == scored(store, plain_job)
