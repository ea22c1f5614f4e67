"""Longest expected job first: predictions from the store's history or a prior, priority
bands, and a real worker taking jobs in that order across runs (kombu's priority lists)."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from coopbench.dataset.tasks import Pair
from coopbench.job.setting import Setting
from coopbench.ops.localcluster import LocalWorkers
from coopbench.store import Attempt, Job, JobState, Run, Store, utcnow
from scheduler.enqueue import enqueue_run
from scheduler.order import (
    PRIORITY_LEVELS,
    SEED_PRIOR_S,
    UNKNOWN_FACTOR,
    PlannedJob,
    Prediction,
    StartOrder,
    predict,
    priorities,
)
from tests.support.broker import queued_ids
from tests.support.polling import wait_until
from tests.support.runs import demo_pairs, run_request, wait_until_finished


def add_history(store: Store, run: str, durations: dict[tuple[Pair, str], float],
                model: str | None = None, agent: str = "oracle") -> None:
    """A finished earlier run: each (pair, setting) done in the given seconds."""
    now = utcnow()
    with store.session() as session, session.begin():
        session.add(Run(name=run, created_at=now, dataset="d", agent=agent, model=model,
                        settings=["solo"], step_limit=1, cost_limit_usd=0, image_template="t",
                        config={}))
        for index, ((pair, setting), seconds) in enumerate(durations.items()):
            session.add(Job(id=f"{run}-{index}", run_name=run, repo=pair.repo,
                            task_id=pair.task_id, features=list(pair.features), setting=setting,
                            state=JobState.done, enqueued_at=now, started_at=now,
                            finished_at=now + timedelta(seconds=seconds)))


def planned(pairs: list[Pair], settings: list[str]) -> list[PlannedJob]:
    return [PlannedJob(f"{p.repo}-{p.task_id}-{p.features}-{s}", p, s) for p in pairs for s in settings]


def test_without_history_the_prior_orders_settings_and_sizes(store):
    request = run_request("R", "img", demo_pairs("ledger_task", 6))
    jobs = planned(request.pairs, ["solo", "coop", "coop-nocomm"])
    with store.session() as session:
        predicted = predict(session, jobs, request.tasks, None, "oracle", "R")
    assert {p.source for p in predicted.values()} == {"prior"}
    for pair in request.pairs:  # the seed's order of settings, for the same group
        solo, coop, nocomm = (predicted[f"{pair.repo}-{pair.task_id}-{pair.features}-{s}"].seconds
                              for s in ("solo", "coop", "coop-nocomm"))
        assert solo < nocomm < coop
        assert coop / solo == pytest.approx(SEED_PRIOR_S["coop"] / SEED_PRIOR_S["solo"])
    sizes = {p: sum(request.tasks[(p.repo, p.task_id)].gold_patch(f).count("\n") for f in p.features)
             for p in request.pairs}
    biggest, smallest = max(sizes, key=sizes.get), min(sizes, key=sizes.get)
    if sizes[biggest] > sizes[smallest]:  # a bigger change is expected to take longer
        assert (predicted[f"{biggest.repo}-{biggest.task_id}-{biggest.features}-solo"].seconds
                > predicted[f"{smallest.repo}-{smallest.task_id}-{smallest.features}-solo"].seconds)


def test_history_of_the_same_model_and_agent_wins_and_unknown_jobs_go_early(store):
    pairs = demo_pairs("ledger_task", 3)
    add_history(store, "earlier", {(pairs[0], "solo"): 600, (pairs[1], "solo"): 20})
    add_history(store, "other-model", {(pairs[2], "solo"): 5000}, model="gpt-x")
    request = run_request("R", "img", pairs)
    jobs = planned(pairs, ["solo"])
    with store.session() as session:
        predicted = predict(session, jobs, request.tasks, None, "oracle", "R")
    first, second, third = (predicted[job.job_id] for job in jobs)
    assert (first.seconds, first.source) == (600, "history")
    assert (second.seconds, second.source) == (20, "history")
    assert third.source == "prior"  # the other model's run does not count
    assert third.seconds >= SEED_PRIOR_S["solo"] * 0.5 * UNKNOWN_FACTOR


def test_bands_cut_the_longest_first_order_into_equal_parts():
    ids = [f"j{i}" for i in range(20)]
    predictions = {jid: Prediction(float(i % 5), "prior") for i, jid in enumerate(ids)}
    bands = priorities(ids, predictions)
    order = sorted(ids, key=lambda jid: bands[jid])
    assert [predictions[jid].seconds for jid in order] == sorted(
        (p.seconds for p in predictions.values()), reverse=True)
    assert sorted(bands.values()) == [band for band in range(PRIORITY_LEVELS) for _ in range(2)]
    ties = [jid for jid in order if predictions[jid].seconds == 4.0]
    assert ties == ["j4", "j9", "j14", "j19"]  # ties keep the run's order


def test_discovery_order_publishes_pair_by_pair_without_bands(settings, store, redis_client, queue):
    """``--order discovery``: history is ignored, no job gets a band, and the queue is the
    selection's order, pair by pair with settings interleaved (a FIFO)."""
    pairs = demo_pairs("ledger_task", 4)
    add_history(store, f"hist-{queue[-8:]}", {(pairs[3], "solo"): 900, (pairs[2], "coop"): 600})
    request = run_request(f"D-{queue[-8:]}", "img", pairs, settings=[Setting.solo, Setting.coop],
                          order=StartOrder.discovery)
    enqueue_run(settings, request)
    assert queued_ids(redis_client, queue) == [job.job_id for job in request.jobs()]
    with store.session() as session:
        stored = session.execute(select(Job.priority, Job.predicted_s)
                                 .where(Job.run_name == request.name)).all()
    assert set(stored) == {(None, None)}


@pytest.mark.docker
def test_a_worker_takes_the_longest_expected_job_first_across_runs(
        settings, store, demo_images, redis_client, queue, tmp_path):
    """One worker slot. Run R's four jobs start in the order of their history (not of
    discovery); run L, enqueued while R's first job runs, has one job expected longer than
    all: it starts next, ahead of R's queued ones."""
    pairs = demo_pairs("ledger_task", 5)
    history = {(pairs[0], "solo"): 30, (pairs[1], "solo"): 300, (pairs[2], "solo"): 90,
               (pairs[3], "solo"): 60, (pairs[4], "solo"): 900}
    add_history(store, f"hist-{queue[-8:]}", history)
    first = run_request(f"R-{queue[-8:]}", demo_images, pairs[:4], settings=[Setting.solo])
    late = run_request(f"L-{queue[-8:]}", demo_images, pairs[4:], settings=[Setting.solo])
    enqueue_run(settings, first)
    served = queued_ids(redis_client, queue)
    by_pair = {job.job_id: job.pair for job in first.jobs()}
    assert [history[(by_pair[jid], "solo")] for jid in served] == [300, 90, 60, 30]

    with LocalWorkers(settings, 1, 1, tmp_path / "logs") as workers:
        wait_until(lambda: _started(store), "R's first job to start", 120, 0.1, alive=workers.alive)
        enqueue_run(settings, late)
        wait_until_finished(store, first.name, workers)
        wait_until_finished(store, late.name, workers)
    [(_, _, late_id, _)] = late.jobs()
    started = _started(store)
    assert started == [served[0], late_id, *served[1:]], started


def _started(store: Store) -> list[str]:
    """Job ids in the order their (first) attempts started, this test's runs only."""
    with store.session() as session:
        rows = session.execute(select(Attempt.job_id, Attempt.started_at).join(Job)
                               .where(Job.run_name.not_like("hist-%"))
                               .order_by(Attempt.started_at, Attempt.id)).all()
    seen: list[str] = []
    for job_id, _ in rows:
        if job_id not in seen:
            seen.append(job_id)
    return seen
