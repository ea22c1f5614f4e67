"""The seed's run, scaled down, through the real system: how close each start order comes
to the best possible finish time.

    .venv/bin/python bench/seed_shape.py [--seconds-per-minute 1.0] [--database postgresql]

300 jobs: CooperBench's lite pairs (100) in solo, coop and coop-nocomm. Each job lasts what
the seed's did, in slot-minutes, lognormal around the setting's mean (solo 1.8, coop 2.4,
coop-nocomm 2.2), and two coop jobs take 62 minutes; a minute is ``--seconds-per-minute``
seconds here. A job run again takes its own duration times a little noise. One worker
with 4 slots (``celery -A sleep_worker``: coopbench's broker, priorities, claims,
heartbeats and commits; the agents and tests replaced by a sleep) runs, each policy in turn:

- cold: ``enqueue`` (longest first) on a store with no history: the prior orders them;
- warm: ``enqueue`` again under a new run name: cold's durations are the history;
- interleaved: ``enqueue --order discovery``, every setting: pair by pair, first in first out;
- seed: ``enqueue --order discovery`` once per setting, back to back: settings in sequence.

Each policy's makespan (first claim to last commit) is printed against its lower bound,
max(longest job, total work / slots), from that policy's own scripted durations.
"""

import argparse
import heapq
import itertools
import json
import math
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import redis
from sqlalchemy import func, select
from throwaway_database import fresh_database  # bench/ is the script's folder, on sys.path

from coopbench.config import Settings
from coopbench.dataset.subsets import load_subset
from coopbench.dataset.tasks import demo_dataset_path, discover_pairs, load_tasks
from coopbench.job.setting import Setting, job_id
from coopbench.store import Attempt, Job, JobState, Store
from scheduler.broker_contents import KombuRedisLayout
from scheduler.enqueue import RunRequest, enqueue_run
from scheduler.order import StartOrder

BENCH_DIR = Path(__file__).resolve().parent
LITE = BENCH_DIR.parent.parent / "shared" / "fixtures" / "cooperbench" / "subsets" / "lite.json"
REDIS_URL = "redis://127.0.0.1:6379/12"
DURATIONS_KEY = "coopbench-bench:durations"  # read by bench/sleep_worker.py
SLOTS = 4
SETTINGS = (Setting.solo, Setting.coop, Setting.coop_nocomm)
SEED_MEAN_MIN = {Setting.solo: 1.8, Setting.coop: 2.4, Setting.coop_nocomm: 2.2}
SPREAD = 0.5  # sigma of a job's log-duration across pairs
RERUN_SPREAD = 0.15  # sigma of the same job's log-duration from one run to the next
OUTLIER_MIN = 62.0
# The seed's notes name its two outliers' pairs; they are not in this repository, so they
# go where discovery order hurts most: late in the list (the 91st and 98th lite pairs).
OUTLIER_PAIRS = (90, 97)


@dataclass(frozen=True)
class Policy:
    run: str  # its run's name, before the bench's tag
    name: str
    order: StartOrder
    setting_batches: tuple[tuple[Setting, ...], ...]  # one enqueue per batch, back to back


POLICIES = (
    Policy("seed", "seed (settings in sequence, discovery order)", StartOrder.discovery,
           tuple((s,) for s in SETTINGS)),
    Policy("interleaved", "interleaved, discovery order", StartOrder.discovery, (SETTINGS,)),
    Policy("cold", "longest first, cold (prior only)", StartOrder.longest_first, (SETTINGS,)),
    Policy("warm", "longest first, warm (history of cold)", StartOrder.longest_first,
           (SETTINGS,)),
)
RUN_ORDER = (2, 3, 1, 0)  # cold before anything else is in the store; warm right after it


def base_minutes(pair_index: int, setting: Setting) -> float:
    """The job's duration in the seed's slot-minutes: the same for every run."""
    if setting is Setting.coop and pair_index in OUTLIER_PAIRS:
        return OUTLIER_MIN
    draw = random.Random(f"{pair_index}/{setting}")
    mean = SEED_MEAN_MIN[setting]
    return draw.lognormvariate(math.log(mean) - SPREAD ** 2 / 2, SPREAD)


def run_minutes(run: str, pair_index: int, setting: Setting) -> float:
    """What the job takes in this run: its base duration times this run's noise."""
    noise = random.Random(f"{run}/{pair_index}/{setting}")
    return base_minutes(pair_index, setting) * noise.lognormvariate(-RERUN_SPREAD ** 2 / 2,
                                                                     RERUN_SPREAD)


def make_dataset(root: Path) -> Path:
    """The lite subset's tasks and features in CooperBench's layout (the demo's files as
    each feature's text), and the subset file."""
    demo = demo_dataset_path() / "ledger_task" / "task0"
    source = sorted(p for p in demo.iterdir() if p.name.startswith("feature"))[0]
    lite = json.loads(LITE.read_text())
    for entry in lite["tasks"]:
        task = root / entry["repo"] / f"task{entry['task_id']}"
        for fid in sorted({f for pair in entry["pairs"] for f in pair}):
            shutil.copytree(source, task / f"feature{fid}")
    (root / "subsets").mkdir()
    shutil.copy(LITE, root / "subsets" / "lite.json")
    return root


def start_worker(settings: Settings, log_file: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": f"{BENCH_DIR}:{BENCH_DIR.parent}",
           "COOPBENCH_DATABASE_URL": settings.database_url, "COOPBENCH_BROKER_URL": REDIS_URL,
           "COOPBENCH_QUEUE": settings.queue, "COOPBENCH_BENCH_DURATIONS_URL": REDIS_URL}
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "sleep_worker", "worker", "--concurrency",
         str(SLOTS), "--loglevel", "INFO", "-n", f"seed-shape@{uuid.uuid4().hex[:6]}",
         "-Q", settings.queue], env=env, stdout=log_file.open("wb"), stderr=subprocess.STDOUT,
        start_new_session=True)


def run_policy(policy: Policy, run: str, settings: Settings, store: Store, dataset: Path,
               pairs, tasks, client: redis.Redis, scale: float, worker) -> dict:
    index_of = {pair: index for index, pair in enumerate(pairs)}
    minutes = {}
    for pair in pairs:
        for setting in SETTINGS:
            jid = job_id(run, pair.repo, pair.task_id, pair.features, setting)
            minutes[jid] = run_minutes(run, index_of[pair], setting)
    client.hset(DURATIONS_KEY, mapping={jid: m * scale for jid, m in minutes.items()})
    for batch in policy.setting_batches:
        enqueue_run(settings, RunRequest(
            name=run, dataset=str(dataset), pairs=pairs, tasks=tasks, settings=list(batch),
            agent="oracle", model="bench/sleep", step_limit=0, cost_limit_usd=0.0,
            image_template="bench-sleep:{slug}", order=policy.order))
    deadline = time.monotonic() + 3 * sum(minutes.values()) * scale / SLOTS + 600
    while _unfinished(store, run):
        if worker.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"{policy.name}: the worker died or the run stalled; see its log")
        time.sleep(0.5)
    with store.session() as session:
        held = session.execute(select(Job.started_at, Job.finished_at, Job.state)
                               .where(Job.run_name == run)).all()
        claimed = session.scalars(select(Job.id).where(Job.run_name == run)
                                  .order_by(Job.started_at)).all()
        slots = session.execute(select(Attempt.worker, Attempt.started_at, Attempt.finished_at)
                                .join(Job).where(Job.run_name == run)
                                .order_by(Attempt.worker, Attempt.started_at)).all()
    first = min(started for _, started, _ in slots)
    last = max(finished for _, finished, _ in held)
    held_s = sum((finished - started).total_seconds() for started, finished, _ in held)
    failed = sum(state != JobState.done for _, _, state in held)
    work_s = sum(minutes.values()) * scale
    bound = max(max(minutes.values()) * scale, work_s / SLOTS)
    makespan = (last - first).total_seconds()
    gaps = _gaps(slots)
    head_s, tail_s = _head_and_tail(slots, first, last)
    # Where the slots' time went besides the sleeps, per slot: in the jobs (claim to commit),
    # between jobs of one pool process, and the rest (a recycled pool process's start, the
    # head and the tail of the run, where fewer than all slots are busy).
    return {"policy": policy.name, "makespan_s": makespan, "bound_s": bound,
            "ratio": makespan / bound, "not_done": failed,
            "order_only": list_schedule([minutes[jid] for jid in claimed]) * scale / bound,
            "overhead_per_job_s": (held_s - work_s) / len(minutes),
            "gap_s": statistics.median(gaps or [0.0]),
            "in_jobs_per_slot_s": (held_s - work_s) / SLOTS,
            "gaps_per_slot_s": sum(gaps) / SLOTS,
            "rest_per_slot_s": (SLOTS * makespan - held_s - sum(gaps)) / SLOTS,
            "head_per_slot_s": head_s / SLOTS, "tail_per_slot_s": tail_s / SLOTS,
            "processes": len({worker for worker, _, _ in slots})}


def list_schedule(durations: list[float]) -> float:
    """The makespan of jobs started in this order, each on the first free slot, with no
    cost between them: what the order alone gives."""
    ends = [0.0] * SLOTS
    for duration in durations:
        heapq.heappush(ends, heapq.heappop(ends) + duration)
    return max(ends)


def _gaps(slots) -> list[float]:
    """Seconds a worker slot (a pool process) stood idle between one job's commit and its
    next claim: Celery's ack, fetch and hand-over."""
    gaps = []
    for (worker, _, finished), (next_worker, started, _) in itertools.pairwise(slots):
        if worker == next_worker and finished is not None:
            gaps.append((started - finished).total_seconds())
    return gaps


def _head_and_tail(slots, first, last) -> tuple[float, float]:
    """Slot-seconds before the first job of each of the first ``SLOTS`` pool processes (the
    run's head), and after the last job of each of the last ``SLOTS`` to finish (its tail)."""
    starts, ends = {}, {}
    for worker, started, finished in slots:
        starts[worker] = min(starts.get(worker, started), started)
        if finished is not None:
            ends[worker] = max(ends.get(worker, finished), finished)
    head = sum((started - first).total_seconds() for started in sorted(starts.values())[:SLOTS])
    tail = sum((last - ended).total_seconds() for ended in sorted(ends.values())[-SLOTS:])
    return head, tail


def _unfinished(store: Store, run: str) -> int:
    with store.session() as session:
        return session.scalar(select(func.count()).select_from(Job).where(
            Job.run_name == run, Job.state.in_([JobState.queued, JobState.running])))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds-per-minute", type=float, default=1.0,
                        help="wall seconds per slot-minute of the seed (the time scale)")
    parser.add_argument("--database", choices=["postgresql", "sqlite"], default="postgresql")
    parser.add_argument("--policies", default="all",
                        help="comma list of policy numbers 1-4 in the table order, or all")
    args = parser.parse_args()
    chosen = (list(RUN_ORDER) if args.policies == "all"
              else [i for i in RUN_ORDER if str(i + 1) in args.policies.split(",")])
    work = Path(tempfile.mkdtemp(prefix="coopbench-seed-"))
    dataset = make_dataset(work / "dataset")
    pairs = discover_pairs(dataset, subset=str(load_subset(dataset, "lite").path))
    tasks = {(t.repo, t.task_id): t for t in load_tasks(dataset)}
    database_url, drop = fresh_database(args.database, work)
    queue = f"bench-seed-{uuid.uuid4().hex[:6]}"
    settings = Settings(database_url=database_url, broker_url=REDIS_URL, queue=queue)
    store = Store.open(settings)
    store.upgrade()
    client = redis.Redis.from_url(REDIS_URL)
    worker = start_worker(settings, work / "worker.log")
    results = []
    try:
        tag = uuid.uuid4().hex[:4]
        for index in chosen:
            policy = POLICIES[index]
            run = f"{policy.run}-{tag}"
            result = run_policy(policy, run, settings, store, dataset, pairs, tasks, client,
                                args.seconds_per_minute, worker)
            results.append((index, result))
            print(f"{policy.name:48} makespan {result['makespan_s']:7.1f} s  bound "
                  f"{result['bound_s']:7.1f} s  ratio {result['ratio']:.3f}"
                  + (f"  (not done: {result['not_done']})" if result["not_done"] else ""),
                  flush=True)
    finally:
        worker.terminate()
        worker.wait(timeout=60)
        client.delete(DURATIONS_KEY, *KombuRedisLayout().queue_lists(queue),
                      f"_kombu.binding.{queue}")
        store.dispose()
        drop()
        shutil.rmtree(work, ignore_errors=True)
    print(f"\n{len(pairs)} pairs x {len(SETTINGS)} settings on {SLOTS} slots, "
          f"{args.seconds_per_minute} s per slot-minute, {args.database}")
    print("| policy | makespan | lower bound | makespan / bound | its start order alone "
          "| in a job, beyond its sleep "
          "(mean) | between jobs on a slot (median) | per slot: in jobs / between jobs / "
          "rest (of it: head, tail) | pool processes |")
    print("|---|---|---|---|---|---|---|---|---|")
    for _, result in sorted(results):
        print(f"| {result['policy']} | {result['makespan_s']:.1f} s | {result['bound_s']:.1f} s | "
              f"{result['ratio']:.3f} | {result['order_only']:.3f} | "
              f"{result['overhead_per_job_s'] * 1000:.0f} ms | "
              f"{result['gap_s'] * 1000:.0f} ms | {result['in_jobs_per_slot_s']:.1f} / "
              f"{result['gaps_per_slot_s']:.1f} / {result['rest_per_slot_s']:.1f} s "
              f"({result['head_per_slot_s']:.1f}, {result['tail_per_slot_s']:.1f}) | "
              f"{result['processes']} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
