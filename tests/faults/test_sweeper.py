"""The sweeper on a real Redis and store: what it re-publishes, what it leaves alone, and
that two sweepers at once publish each lost job once."""

import json
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import redis
from sqlalchemy import select, update

from coopbench.job.setting import AGENT_SETTINGS
from coopbench.store import Attempt, Evaluation, EvaluationState, Job, JobState, Store, utcnow
from coopbench.store.claims import claim_job
from scheduler.broker_contents import KombuRedisLayout
from scheduler.enqueue import enqueue_run
from scheduler.sweeper import LOCK_KEY, SweepReport, sweep_once
from tests.faults.conftest import ledger_request, waiting_task_ids
from tests.support.broker import clear_queue
from workers.publish import Publisher

NO_IMAGE = "never-pulled-{slug}:task{task_id}"  # no worker runs these jobs


def sweep(settings) -> SweepReport:
    return sweep_once(Store(settings.database_url), redis.Redis.from_url(settings.broker_url),
                      settings.queue, Publisher(settings))


def enqueue(settings, pairs=((1, 2),)) -> list[str]:
    request = ledger_request(f"sweep-{settings.queue[-8:]}", NO_IMAGE, list(pairs),
                             list(AGENT_SETTINGS))
    enqueue_run(settings, request)
    return [job.job_id for job in request.jobs()]


def published_at(store: Store, job_id: str):
    with store.session() as session:
        return session.get(Job, job_id).published_at


@pytest.fixture
def unacked(redis_client, queue):
    """Moves a job's message from the queue to kombu's ``unacked`` hash, as a worker's
    delivery does; the entries are removed afterwards."""
    tags, steps = [], []

    def deliver(task_id: str, second_step_after_s: float = 0.0) -> None:
        """``second_step_after_s``: the hash is written that long after the pop, in a
        thread, as by a worker's main process that is slow to run its next line."""
        for name in KombuRedisLayout().queue_lists(queue):  # each priority band's list
            for item in redis_client.lrange(name, 0, -1):
                message = json.loads(item)
                if message["headers"]["id"] == task_id:
                    redis_client.lrem(name, 1, item)
                    tag = message["properties"]["delivery_tag"]
                    tags.append(tag)
                    step = threading.Timer(second_step_after_s, redis_client.hset,
                                           ("unacked", tag, json.dumps([message, "", queue])))
                    steps.append(step)
                    step.start()
                    if not second_step_after_s:
                        step.join()
                    return
        raise AssertionError(f"no message of {task_id} in {queue}")

    yield deliver
    for step in steps:
        step.join()
    if tags:
        redis_client.hdel("unacked", *tags)


def test_queued_jobs_whose_message_is_gone_are_published_again(settings, queue, redis_client):
    never, lost, present = enqueue(settings)
    store = Store(settings.database_url)
    clear_queue(redis_client, queue)  # every message lost, as with a Redis restarted empty
    Publisher(settings).publish([present])  # ... but this one's is back in the queue
    with store.session() as session, session.begin():
        session.execute(update(Job).where(Job.id == never).values(published_at=None))
    lost_published_at = published_at(store, lost)

    report = sweep(settings)
    assert (report.republished_lost, report.republished_expired,
            report.evaluations_republished) == (2, 0, 0)
    assert waiting_task_ids(redis_client, queue) == {never: 1, lost: 1, present: 1}
    assert published_at(store, never) is not None
    assert published_at(store, lost) > lost_published_at

    assert sweep(settings) == SweepReport()  # every job has its message now: nothing to do
    assert waiting_task_ids(redis_client, queue) == {never: 1, lost: 1, present: 1}


def test_expired_lease_gets_a_new_message_and_a_held_message_counts(settings, queue,
                                                                     redis_client, unacked):
    held, expired, live = enqueue(settings)
    store = Store(settings.database_url)
    unacked(held)  # delivered to a worker that has not claimed it yet: still queued
    for job_id, lease_s in ((expired, 0.5), (live, 60)):
        unacked(job_id)  # the worker that took it holds its message
        assert claim_job(store, job_id, "worker-of-" + job_id[:8], lease_s) is not None
    time.sleep(0.7)  # the first worker is dead: its lease runs out

    report = sweep(settings)
    assert (report.republished_expired, report.republished_lost) == (1, 0)
    assert waiting_task_ids(redis_client, queue) == {expired: 1}
    # Its new message waits in the queue: no second one while nobody has taken it.
    assert sweep(settings).republished_expired == 0
    assert waiting_task_ids(redis_client, queue) == {expired: 1}


def test_a_message_in_the_midst_of_its_delivery_is_not_called_lost(settings, queue, redis_client,
                                                                   unacked):
    """kombu delivers in two steps, the pop from the queue and the write to ``unacked``; in
    between the message is in neither. A worker slow between the two (a loaded host: seen in
    CI) must not get its job published twice."""
    delivered, *waiting = enqueue(settings)
    unacked(delivered, second_step_after_s=0.2)
    report = sweep(settings)
    assert report.republished_lost == 0
    assert waiting_task_ids(redis_client, queue) == {job_id: 1 for job_id in waiting}


def test_standalone_evaluations_follow_the_same_rules(settings, queue, redis_client):
    job_lost, job_expired, job_running = enqueue(settings)
    store = Store(settings.database_url)
    clear_queue(redis_client, queue)
    now = utcnow()
    assert claim_job(store, job_running, "live-worker", 60) is not None
    with store.session() as session, session.begin():
        session.execute(update(Job).where(Job.id.in_([job_lost, job_expired]))
                        .values(state=JobState.done, finished_at=now))
        attempts = {}
        for job_id in (job_lost, job_expired):
            attempts[job_id] = Attempt(job_id=job_id, number=1, fencing_token=1, host="h",
                                       worker="w", state="done", started_at=now, finished_at=now)
            session.add(attempts[job_id])
        session.flush()
        running_attempt = session.scalars(
            select(Attempt.id).where(Attempt.job_id == job_running)).one()

        def evaluation(job_id, number, attempt_id, **values):
            row = Evaluation(job_id=job_id, number=number, attempt_id=attempt_id,
                             test_filter="extended", requested_at=now, **values)
            session.add(row)
            return row

        # queued and published, message lost: published again
        queued = {"state": EvaluationState.queued, "published_at": now}
        evaluation(job_lost, 1, attempts[job_lost].id, **queued)
        # queued, its message in the queue: left alone
        evaluation(job_lost, 2, attempts[job_lost].id, **queued)
        # standalone, its worker's lease expired: published again
        evaluation(job_expired, 1, attempts[job_expired].id, state=EvaluationState.running,
                   fencing_token=1, lease_expires_at=now - timedelta(seconds=5))
        # a job's own evaluation stage (token 0), under the job's live claim: not the sweeper's
        evaluation(job_running, 1, running_attempt, state=EvaluationState.running, started_at=now)
        session.flush()
        present = session.scalars(select(Evaluation.id).where(
            Evaluation.job_id == job_lost, Evaluation.number == 2)).one()
    Publisher(settings).publish_evaluations([(f"{job_lost}-e2", present)])

    report = sweep(settings)
    assert (report.evaluations_republished, report.republished_lost,
            report.republished_expired) == (2, 0, 0)
    assert waiting_task_ids(redis_client, queue) == {
        f"{job_lost}-e1": 1, f"{job_lost}-e2": 1, f"{job_expired}-e1": 1}
    with store.session() as session:
        assert session.scalars(select(Evaluation.published_at).where(
            Evaluation.job_id == job_expired)).one() is not None
    assert sweep(settings).evaluations_republished == 0


def test_a_held_lock_skips_the_pass(settings, queue, redis_client):
    enqueue(settings)
    clear_queue(redis_client, queue)
    lock = redis_client.lock(LOCK_KEY.format(queue=queue), timeout=30)
    assert lock.acquire(blocking=False)
    try:
        assert sweep(settings) == SweepReport(skipped=True)
        assert waiting_task_ids(redis_client, queue) == {}
    finally:
        lock.release()


def test_two_sweepers_at_once_publish_each_lost_job_once(settings, queue, redis_client, cli):
    job_ids = enqueue(settings, pairs=((1, 2), (1, 3)))
    clear_queue(redis_client, queue)
    with ThreadPoolExecutor(2) as pool:  # two `coopbench sweep --once` processes at once
        results = list(pool.map(lambda _: cli("sweep", "--once"), range(2)))
    for result in results:
        assert result.returncode == 0, result.stderr
    republished = [int(m.group(1)) for r in results
                   for m in [re.search(r"republished_lost=(\d+)", r.stdout)] if m]
    assert sum(republished) == len(job_ids) == 6, [r.stdout for r in results]
    assert waiting_task_ids(redis_client, queue) == {job_id: 1 for job_id in job_ids}
