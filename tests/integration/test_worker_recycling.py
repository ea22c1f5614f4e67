"""A worker's pool processes. Replaced mid-run (``--max-tasks-per-child``): every job is
done exactly once, and a replaced process's slot takes the next queued job at once, not at
Celery's periodic pool check (every 5 s; ``workers/prefork.py``). Forked from a main
process whose imports are frozen out of the garbage collector."""

import itertools
import os
import subprocess
import sys
from collections import defaultdict

from sqlalchemy import select

from coopbench.job.setting import Setting
from coopbench.ops.localcluster import LocalWorkers
from coopbench.store import Attempt, Job, Store
from scheduler.enqueue import enqueue_run
from tests.support.runs import demo_pairs, run_request, wait_until_finished

JOBS_PER_PROCESS = 2
# Stock Celery leaves the slot idle until its next 5 s check: 0-5 s, so three replacements
# all under this bound would be chance (about 1 in 8). Ours take a fraction of a second.
REPLACEMENT_BOUND_S = 2.5


def test_replaced_pool_processes_lose_nothing_and_take_the_next_job_at_once(
        settings, demo_images, docker_client, tmp_path):
    run = f"recycle-{settings.queue[-8:]}"
    store = Store(settings.database_url)
    pairs = demo_pairs("ledger_task", 4) + demo_pairs("textkit_task", 4)
    with LocalWorkers(settings, count=1, concurrency=1, log_dir=tmp_path / "logs",
                      name_prefix="recycle",
                      extra_args=("--max-tasks-per-child", str(JOBS_PER_PROCESS))) as workers:
        enqueue_run(settings, run_request(run, demo_images, pairs, settings=[Setting.solo]))
        wait_until_finished(store, run, workers)
    banner = (tmp_path / "logs" / "worker-1.log").read_text()
    assert "(prefork)" in banner, "the worker runs coopbench's prefork pool"

    with store.session() as session:
        states = session.scalars(select(Job.state).where(Job.run_name == run)).all()
        attempts = session.execute(select(Attempt.worker, Attempt.started_at, Attempt.finished_at)
                                   .join(Job).where(Job.run_name == run)
                                   .order_by(Attempt.started_at)).all()
    assert states == ["done"] * len(pairs)
    assert len(attempts) == len(pairs), "exactly one attempt per job"
    jobs_by_process = defaultdict(int)
    for worker, _, _ in attempts:  # "name@host:pid": one per pool process
        jobs_by_process[worker] += 1
    assert sorted(jobs_by_process.values()) == [JOBS_PER_PROCESS] * (len(pairs) // JOBS_PER_PROCESS)

    # One slot: each job starts after the one before it; a new pool process's first job
    # starts as soon as its predecessor's last one has finished.
    replacements = [(nxt.started_at - prev.finished_at).total_seconds()
                    for prev, nxt in itertools.pairwise(attempts) if prev.worker != nxt.worker]
    assert len(replacements) == len(pairs) // JOBS_PER_PROCESS - 1
    assert max(replacements) < REPLACEMENT_BOUND_S, replacements


def test_the_main_process_freezes_its_imports_before_the_pool_forks():
    code = ("import gc\n"
            "from workers.tasks import _import_upstream_before_the_fork\n"
            "_import_upstream_before_the_fork()\n"
            "print(gc.get_freeze_count())\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=300, check=True,
                            env={**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"})
    assert int(result.stdout) > 100_000  # upstream, litellm, SQLAlchemy...: all of them
