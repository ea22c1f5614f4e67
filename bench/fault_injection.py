"""Fault injection: run N jobs while killing workers, restarting Redis and PostgreSQL.

Runs the demo dataset with the oracle agent (all three settings; N / 36 runs of it) on
local worker processes, a ``coopbench sweep`` process and a Redis server of its own, and
meanwhile: SIGKILLs a random worker (its whole process group) every few seconds and starts
a replacement, restarts Redis (empty: no persistence) once, and PostgreSQL once. At the end
it prints, from the store and the Docker engine: jobs enqueued, completed, lost (not
finished), duplicated (a job whose agents ran, or which finished, more than once),
attempts (and the most of one job, against the budget of ``infra_retries + 1``), and
orphan containers. The bar: 0 lost, 0 duplicated, 0 orphans, no job over its budget. A job
whose workers were killed on every one of its attempts ends ``failed_infra``, as it must.

    .venv/bin/python bench/fault_injection.py --jobs 72 --workers 3 --kill-every 6

Needs what the tests need (scripts/setup.sh): Docker with the base image, PostgreSQL.
"""

import argparse
import glob
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import psycopg
from sqlalchemy import func, select

from coopbench.config import Settings
from coopbench.dataset.images import image_name
from coopbench.dataset.images.build import build_task_image
from coopbench.dataset.tasks import demo_dataset_path, discover_pairs, load_tasks
from coopbench.job.setting import AGENT_SETTINGS
from coopbench.ops.localcluster import LocalWorkers, free_port, wait_for_redis
from coopbench.sandbox.containers import docker_client
from coopbench.store import AgentRun, Attempt, Job, Store
from coopbench.store.states import FINISHED_STATES
from scheduler.enqueue import RunRequest, enqueue_run

IMAGE_TEMPLATE = "coopbench-bench-{slug}:task{task_id}"
PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
JOBS_PER_RUN = 36


class Redis:
    """A private redis-server without persistence: a restart loses every message."""

    def __init__(self, log_dir: Path):
        self.port, self.log_dir, self.process = free_port(), log_dir, None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--save", "",
             "--appendonly", "no"], stdout=open(self.log_dir / "redis.log", "ab"),
            stderr=subprocess.STDOUT, start_new_session=True)
        if not wait_for_redis(self.url):
            raise RuntimeError(f"redis-server on port {self.port} did not start")

    def restart(self) -> None:
        self.stop()
        time.sleep(1)
        self.start()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def restart_postgresql() -> None:
    version = glob.glob("/etc/postgresql/*")[0].rsplit("/", 1)[1]
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"],
                   check=True, capture_output=True, timeout=120)


def fresh_database(kind: str, work: Path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{work / 'bench.db'}"
    name = f"coopbench_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


class Workers:
    """Worker processes that can be killed (SIGKILL to the process group) and replaced."""

    def __init__(self, settings: Settings, count: int, logs: Path, env: dict[str, str]):
        self.settings, self.logs, self.env = settings, logs, env
        self.started = 0
        self.live: list[LocalWorkers] = [self._new() for _ in range(count)]

    def _new(self) -> LocalWorkers:
        self.started += 1
        worker = LocalWorkers(self.settings, 1, 2, self.logs / f"w{self.started}",
                              name_prefix=f"bench{self.started}-", extra_env=self.env)
        worker.start()
        return worker

    def kill_one(self) -> None:
        victim = self.live.pop(random.randrange(len(self.live)))
        for process in victim.processes:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            process.wait()
        self.live.append(self._new())

    def stop(self) -> None:
        for worker in self.live:
            worker.stop()


def counts(store: Store, runs: list[str]) -> dict:
    with store.session() as session:
        in_runs = Job.run_name.in_(runs)
        states = dict(session.execute(select(Job.state, func.count()).where(in_runs)
                                      .group_by(Job.state)).all())
        attempts = session.scalar(select(func.count()).select_from(Attempt).join(Job).where(in_runs))
        finished_twice = session.scalar(select(func.count()).select_from(
            select(Attempt.job_id).join(Job).where(in_runs, Attempt.state == "done")
            .group_by(Attempt.job_id).having(func.count() > 1).subquery()))
        most_attempts = session.scalar(select(func.max(Job.attempts)).where(in_runs)) or 0
        agents_twice = session.scalar(select(func.count()).select_from(
            select(Attempt.job_id).join(AgentRun, AgentRun.attempt_id == Attempt.id).join(Job)
            .where(in_runs).group_by(Attempt.job_id)
            .having(func.count(func.distinct(Attempt.id)) > 1).subquery()))
    return {"states": states, "attempts": attempts, "most_attempts": most_attempts,
            "duplicated": finished_twice + agents_twice}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=72, help="multiple of 36 (demo runs)")
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--kill-every", type=float, default=6.0, help="seconds between kills")
    parser.add_argument("--database", choices=["postgresql", "sqlite"], default="postgresql")
    parser.add_argument("--base-image", default="coopbench/base:bookworm")
    parser.add_argument("--timeout", type=float, default=900)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="coopbench-faults-"))
    redis_server = Redis(work)
    redis_server.start()
    settings = Settings(database_url=fresh_database(args.database, work),
                        broker_url=redis_server.url, queue="bench", lease_s=4,
                        sweep_interval_s=2, retry_backoff_s=1, retry_poll_s=1, infra_retries=3,
                        visibility_timeout_s=30, job_timeout_s=300, agent_wall_s=240)
    env = {"COOPBENCH_SWEEP_INTERVAL_S": "2", "COOPBENCH_RETRY_BACKOFF_S": "1",
           "COOPBENCH_RETRY_POLL_S": "1", "COOPBENCH_INFRA_RETRIES": "3",
           "COOPBENCH_VISIBILITY_TIMEOUT_S": "30", "COOPBENCH_JOB_TIMEOUT_S": "300",
           "COOPBENCH_AGENT_WALL_S": "240"}  # below the job's limit, as the settings require
    client = docker_client()
    dataset = demo_dataset_path()
    tasks = load_tasks(dataset)
    for task in tasks:
        build_task_image(client, task, image_name(IMAGE_TEMPLATE, task.repo, task.task_id),
                         args.base_image)

    runs = [f"bench-{uuid.uuid4().hex[:6]}-{i}" for i in range(max(1, args.jobs // JOBS_PER_RUN))]
    store = Store(settings.database_url)
    workers = Workers(settings, args.workers, work / "logs", env)
    sweeper_env = {**os.environ, **env, "COOPBENCH_DATABASE_URL": settings.database_url,
                   "COOPBENCH_BROKER_URL": settings.broker_url, "COOPBENCH_QUEUE": settings.queue,
                   "COOPBENCH_LEASE_S": str(settings.lease_s)}
    coopbench = str(Path(sys.executable).parent / "coopbench")
    sweeper = subprocess.Popen([coopbench, "sweep", "--interval", "2"], env=sweeper_env,
                               stdout=open(work / "sweeper.log", "wb"), stderr=subprocess.STDOUT,
                               start_new_session=True)
    for run in runs:
        enqueue_run(settings, RunRequest(
            name=run, dataset=str(dataset), pairs=discover_pairs(dataset),
            tasks={(t.repo, t.task_id): t for t in tasks}, settings=list(AGENT_SETTINGS),
            agent="oracle", model=None, step_limit=1, cost_limit_usd=0.0,
            image_template=IMAGE_TEMPLATE))
    total = len(runs) * JOBS_PER_RUN
    started, kills, faults = time.monotonic(), 0, []
    next_kill = started + args.kill_every
    redis_restarted = pg_restarted = False
    print(f"{total} jobs, {args.workers} workers, a kill every {args.kill_every:g} s; "
          f"logs in {work}", flush=True)
    while time.monotonic() - started < args.timeout:
        finished = sum(n for s, n in counts(store, runs)["states"].items() if s in FINISHED_STATES)
        if finished == total:
            break
        if time.monotonic() >= next_kill:
            workers.kill_one()
            kills += 1
            next_kill = time.monotonic() + args.kill_every
        if not redis_restarted and finished >= total // 3:
            redis_server.restart()
            redis_restarted = True
            faults.append(f"redis restarted at {finished}/{total}")
        if not pg_restarted and args.database == "postgresql" and finished >= 2 * total // 3:
            restart_postgresql()
            pg_restarted = True
            faults.append(f"postgresql restarted at {finished}/{total}")
        time.sleep(0.5)
    elapsed = time.monotonic() - started
    time.sleep(2 * settings.sweep_interval_s + 1)  # one cleanup period for the last kill
    result = counts(store, runs)
    orphans = client.containers.list(all=True, filters={"label": "coopbench.run"})
    orphans = [c.name for c in orphans if c.labels.get("coopbench.run") in runs]
    workers.stop()
    os.killpg(sweeper.pid, signal.SIGTERM)
    redis_server.stop()
    finished = sum(n for s, n in result["states"].items() if s in FINISHED_STATES)
    figures = {
        "jobs_enqueued": total, "completed": result["states"].get("done", 0),
        "failed": finished - result["states"].get("done", 0),
        "lost": total - finished, "duplicated": result["duplicated"],
        "attempts": result["attempts"], "most_attempts": result["most_attempts"],
        "over_budget": int(result["most_attempts"] > settings.infra_retries + 1),
        "workers_killed": kills, "faults": faults,
        "orphan_containers": len(orphans), "seconds": round(elapsed, 1),
        "database": args.database,
    }
    for key, value in figures.items():
        print(f"{key:18} {value}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    ok = (figures["lost"] == figures["duplicated"] == figures["orphan_containers"]
          == figures["over_budget"] == 0)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
