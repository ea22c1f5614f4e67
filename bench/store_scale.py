"""How the store copes with a big run: write N finished jobs the way workers do (agent runs,
gzip artefacts, an evaluation each), then time ``status``, ``export`` and ``report`` on it.

    .venv/bin/python bench/store_scale.py --jobs 3000 --database postgresql

Prints seconds per step and the store's size. Uses a fresh SQLite file or PostgreSQL
database, dropped afterwards.
"""

import argparse
import os
import shutil
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import psycopg
from sqlalchemy import func, select, text

from coopbench.export.report import write_report
from coopbench.export.run_export import export_run
from coopbench.job.setting import assignments, job_id
from coopbench.ops.status import run_status
from coopbench.store import AgentRun, Artifact, Attempt, Evaluation, Job, Run, Store, utcnow

PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
PATCH = "diff --git a/x.py b/x.py\n--- a/x.py\n+++ b/x.py\n@@ -1 +1 @@\n-a\n+b\n" * 40
TRAJECTORY = '[{"role": "user", "content": "' + "step " * 4000 + '"}]'  # ~20 KB, compresses well
SETTINGS = ("solo", "coop", "coop-nocomm")


def fill(store: Store, run: str, jobs: int) -> None:
    now = utcnow()
    with store.session() as session, session.begin():
        session.add(Run(name=run, created_at=now, dataset="/bench", agent="mini-swe-agent",
                        model="openai/gpt-4o-mini", settings=list(SETTINGS), step_limit=100,
                        cost_limit_usd=3.0, image_template="img-{slug}:task{task_id}", config={}))
    for start in range(0, jobs, 500):
        with store.session() as session, session.begin():
            for index in range(start, min(start + 500, jobs)):
                setting = SETTINGS[index % 3]
                features = (1 + index // 3 % 50, 51 + index // 150)
                jid = job_id(run, "bench_task", 1, features, setting)
                began, ended = now + timedelta(seconds=index), now + timedelta(seconds=index + 300)
                job = Job(id=jid, run_name=run, repo="bench_task", task_id=1, features=list(features),
                          setting=setting, state="done", attempts=1, fencing_token=1, enqueued_at=now,
                          started_at=began, finished_at=ended, eval_status="done",
                          both_passed=index % 4 == 0, merge_status=None if setting == "solo" else "clean",
                          cost_usd=0.5, result={"total_cost": 0.5})
                session.add(job)
                attempt = Attempt(job_id=jid, number=1, fencing_token=1, host="h", worker="w",
                                  state="done", started_at=began, finished_at=ended)
                session.add(attempt)
                session.flush()
                for plan in assignments(setting, features):
                    session.add(AgentRun(attempt_id=attempt.id, agent_id=plan.agent_id,
                                         feature_ids=list(plan.feature_ids), status="Submitted",
                                         steps=30, cost_usd=0.25, patch_lines=240, started_at=began,
                                         ended_at=ended))
                    for name, body in ((f"{plan.agent_id}.patch", PATCH),
                                       (f"{plan.agent_id}_traj.json", TRAJECTORY)):
                        data, size = Artifact.compress(body)
                        session.add(Artifact(job_id=jid, attempt_id=attempt.id, name=name,
                                             data_gz=data, size_bytes=size, created_at=ended))
                evaluation = Evaluation(job_id=jid, number=1, attempt_id=attempt.id, state="done",
                                        test_filter="extended", requested_at=ended, started_at=ended,
                                        finished_at=ended, both_passed=job.both_passed,
                                        merge_status=job.merge_status, merge_strategy="naive")
                session.add(evaluation)
                session.flush()
                job.agents_attempt_id, job.evaluation_id = attempt.id, evaluation.id
                data, size = Artifact.compress('{"both_passed": false, "test_output": "' + "ok " * 2000 + '"}')
                session.add(Artifact(job_id=jid, attempt_id=attempt.id, evaluation_id=evaluation.id,
                                     name="eval/1/eval.json", data_gz=data, size_bytes=size,
                                     created_at=ended))


def timed(label: str, step) -> object:
    started = time.perf_counter()
    value = step()
    print(f"{label:28} {time.perf_counter() - started:8.2f} s", flush=True)
    return value


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=3000)
    parser.add_argument("--database", choices=["postgresql", "sqlite"], default="postgresql")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="coopbench-scale-"))
    name = f"coopbench_scale_{uuid.uuid4().hex[:8]}"
    if args.database == "sqlite":
        url = f"sqlite:///{work / 'scale.db'}"
    else:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    store = Store(url)
    try:
        store.upgrade()
        run = "scale"
        timed(f"write {args.jobs} jobs", lambda: fill(store, run, args.jobs))
        timed("status", lambda: run_status(store, run))
        timed("export (all files)", lambda: export_run(store, run, work / "export"))
        timed("report (HTML + plots)", lambda: write_report(store, run, work / "report"))
        with store.session() as session:
            stored = session.scalar(select(func.sum(Artifact.size_bytes)))
            compressed = session.scalar(select(func.sum(func.length(Artifact.data_gz))))
            if args.database == "postgresql":
                size = session.scalar(text("SELECT pg_database_size(current_database())"))
            else:
                size = (work / "scale.db").stat().st_size
        print(f"artefacts: {stored / 1e6:.1f} MB as text, {compressed / 1e6:.1f} MB stored "
              f"(gzip); database {size / 1e6:.1f} MB")
    finally:
        store.dispose()
        shutil.rmtree(work, ignore_errors=True)
        if args.database == "postgresql":
            with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return 0


if __name__ == "__main__":
    sys.exit(main())
