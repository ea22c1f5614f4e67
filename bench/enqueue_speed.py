"""How fast ``coopbench enqueue`` is at the full benchmark's size, against the floor of raw
Celery publishing of as many messages in the same run.

    .venv/bin/python bench/enqueue_speed.py [--pairs 652] [--database sqlite|postgresql]

Generates a dataset in CooperBench's layout (tasks of four features, six pairs each, the
demo's files as the features' text) with at least ``--pairs`` pairs, then times, each on a
fresh store and queue: raw ``send_task`` of 3 x pairs messages (the floor), and ``coopbench
enqueue`` of every pair in solo, coop and coop-nocomm, end to end (a process, as a user
runs it). Prints seconds, jobs per second and the ratio to the floor.
"""

import argparse
import itertools
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import redis
from throwaway_database import fresh_database  # bench/ is the script's folder, on sys.path

from coopbench.config import Settings
from coopbench.dataset.tasks import demo_dataset_path
from scheduler.broker_contents import KombuRedisLayout
from workers.celery_app import make_app

REDIS_URL = "redis://127.0.0.1:6379/13"
FEATURES_PER_TASK = 4  # six pairs each
SETTINGS = "solo,coop,coop-nocomm"


def make_dataset(root: Path, pairs: int) -> Path:
    """``<repo>_task/task<N>/feature<k>/`` folders with the demo's files, enough for ``pairs``."""
    demo = demo_dataset_path() / "ledger_task" / "task0"
    sources = sorted(p for p in demo.iterdir() if p.name.startswith("feature"))
    pairs_per_task = FEATURES_PER_TASK * (FEATURES_PER_TASK - 1) // 2
    for index in range(-(-pairs // pairs_per_task)):
        task = root / f"bench{index // 10}_task" / f"task{index % 10}"
        for fid, source in zip(range(1, FEATURES_PER_TASK + 1), itertools.cycle(sources)):
            shutil.copytree(source, task / f"feature{fid}")
        for extra in ("Dockerfile", "runner.sh", "setup.sh"):
            if (demo / extra).exists():
                shutil.copy(demo / extra, task / extra)
    return root


def raw_publish_s(messages: int) -> float:
    """The floor: Celery's own send_task of as many messages, one producer, no store."""
    queue = f"bench-floor-{uuid.uuid4().hex[:6]}"
    app = make_app(Settings(broker_url=REDIS_URL, queue=queue))
    try:
        started = time.perf_counter()
        with app.producer_or_acquire() as producer:
            for index in range(messages):
                app.send_task("coopbench.run_job", args=[str(index)], task_id=str(uuid.uuid4()),
                              queue=queue, producer=producer)
        return time.perf_counter() - started
    finally:
        _drop_queue(queue)
        app.close()


def enqueue_s(dataset: Path, database_url: str, work: Path) -> tuple[float, str]:
    queue = f"bench-enqueue-{uuid.uuid4().hex[:6]}"
    env = {**os.environ, "COOPBENCH_DATABASE_URL": database_url, "COOPBENCH_BROKER_URL": REDIS_URL,
           "COOPBENCH_QUEUE": queue}
    coopbench = str(Path(sys.executable).parent / "coopbench")
    subprocess.run([coopbench, "db", "upgrade"], env=env, check=True, capture_output=True)
    try:
        started = time.perf_counter()
        result = subprocess.run([coopbench, "enqueue", "--run", "bench", "--dataset", str(dataset),
                                 "--settings", SETTINGS, "--agent", "oracle"],
                                env=env, cwd=work, capture_output=True, text=True)
        elapsed = time.perf_counter() - started
    finally:
        _drop_queue(queue)
    if result.returncode != 0:
        raise SystemExit(f"enqueue failed: {result.stderr[-2000:]}")
    return elapsed, result.stdout.strip().splitlines()[-1]


def _drop_queue(queue: str) -> None:
    client = redis.Redis.from_url(REDIS_URL)
    client.delete(*KombuRedisLayout().queue_lists(queue), f"_kombu.binding.{queue}")
    client.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=652)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="coopbench-enqueue-"))
    dataset = make_dataset(work / "dataset", args.pairs)
    database_url, drop = fresh_database(args.database, work)
    try:
        pairs_made = -(-args.pairs // 6) * 6
        jobs = 3 * pairs_made
        floor = raw_publish_s(jobs)
        elapsed, summary = enqueue_s(dataset, database_url, work)
    finally:
        drop()
        shutil.rmtree(work, ignore_errors=True)
    print(f"dataset: {pairs_made} pairs, {jobs} jobs; {args.database}")
    print(f"raw Celery publish of {jobs} messages (floor): {floor:.2f} s, {jobs / floor:.0f} msgs/s")
    print(f"coopbench enqueue, end to end:          {elapsed:.2f} s, {jobs / elapsed:.0f} jobs/s, "
          f"{elapsed / floor:.1f}x the floor")
    print(f"  {summary}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
