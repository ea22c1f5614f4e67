"""How the store copes with a big run: write N finished jobs the way workers do (agent runs,
gzip artefacts, an evaluation each), then time ``status``, ``export`` and ``report`` on it.

    .venv/bin/python bench/store_scale.py --jobs 10000 --database postgresql --rounds 3

Prints seconds per step and the store's size, and export's time next to its floor measured
in the same run: reading the artefacts in one bare query plus writing as many files of the
same sizes with plain Python. Uses a fresh SQLite file or PostgreSQL database, dropped
afterwards.
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
from sqlalchemy import func, insert, select, text

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
    """The rows workers write for ``jobs`` finished jobs, in bulk inserts (10 000 jobs in
    seconds, not minutes). Ids are assigned here: the database is fresh, and nothing inserts
    into it after the fill. Each body is compressed once; its bytes are the same every time."""
    now = utcnow()
    bodies = {kind: Artifact.compress(body) for kind, body in (
        ("patch", PATCH), ("traj", TRAJECTORY),
        ("eval", '{"both_passed": false, "test_output": "' + "ok " * 2000 + '"}'))}
    rows: dict[type, list[dict]] = {model: [] for model in (Job, Attempt, AgentRun, Evaluation, Artifact)}
    for index in range(jobs):
        attempt_id = evaluation_id = index + 1  # one attempt and one evaluation per job
        setting = SETTINGS[index % 3]
        features = (1 + index // 3 % 50, 51 + index // 150)
        jid = job_id(run, "bench_task", 1, features, setting)
        began, ended = now + timedelta(seconds=index), now + timedelta(seconds=index + 300)
        both_passed, merge_status = index % 4 == 0, None if setting == "solo" else "clean"
        rows[Job].append(dict(
            id=jid, run_name=run, repo="bench_task", task_id=1, features=list(features),
            setting=setting, state="done", attempts=1, fencing_token=1, enqueued_at=now,
            started_at=began, finished_at=ended, eval_status="done", both_passed=both_passed,
            merge_status=merge_status, cost_usd=0.5, result={"total_cost": 0.5},
            agents_attempt_id=attempt_id, evaluation_id=evaluation_id))
        rows[Attempt].append(dict(id=attempt_id, job_id=jid, number=1, fencing_token=1, host="h",
                                  worker="w", state="done", started_at=began, finished_at=ended))
        for plan in assignments(setting, features):
            rows[AgentRun].append(dict(
                attempt_id=attempt_id, agent_id=plan.agent_id, feature_ids=list(plan.feature_ids),
                status="Submitted", steps=30, cost_usd=0.25, patch_lines=240, started_at=began,
                ended_at=ended))
            for name, kind in ((f"{plan.agent_id}.patch", "patch"), (f"{plan.agent_id}_traj.json", "traj")):
                data, size = bodies[kind]
                rows[Artifact].append(dict(job_id=jid, attempt_id=attempt_id, evaluation_id=None,
                                           name=name, data_gz=data, size_bytes=size, created_at=ended))
        rows[Evaluation].append(dict(
            id=evaluation_id, job_id=jid, number=1, attempt_id=attempt_id, state="done",
            test_filter="extended", requested_at=ended, started_at=ended, finished_at=ended,
            both_passed=both_passed, merge_status=merge_status, merge_strategy="naive"))
        data, size = bodies["eval"]
        rows[Artifact].append(dict(job_id=jid, attempt_id=attempt_id, evaluation_id=evaluation_id,
                                   name="eval/1/eval.json", data_gz=data, size_bytes=size,
                                   created_at=ended))
    with store.session() as session, session.begin():
        session.add(Run(name=run, created_at=now, dataset="/bench", agent="mini-swe-agent",
                        model="openai/gpt-4o-mini", settings=list(SETTINGS), step_limit=100,
                        cost_limit_usd=3.0, image_template="img-{slug}:task{task_id}", config={}))
        session.flush()
        for model, values in rows.items():  # parents first: the foreign keys point back
            for start in range(0, len(values), 2000):
                session.execute(insert(model), values[start:start + 2000])


def timed(label: str, step) -> object:
    started = time.perf_counter()
    value = step()
    print(f"{label:28} {time.perf_counter() - started:8.2f} s", flush=True)
    return value


def read_floor(store: Store, run: str) -> float:
    """Seconds to read the run's artefact bytes in one bare query: no ORM, no decompression."""
    started = time.perf_counter()
    with store.engine.connect() as conn:
        query = select(Artifact.data_gz).join(Job, Job.id == Artifact.job_id).where(Job.run_name == run)
        for _ in conn.execute(query):
            pass
    return time.perf_counter() - started


def write_floor(exported: Path, fresh: Path) -> float:
    """Seconds to write as many files, of the same sizes, as the export wrote, with plain
    ``open`` and ``write`` into a fresh directory, each directory made once. Paths and bytes
    (zeros sliced from one buffer) are ready before the clock starts."""
    files = [(os.path.join(fresh, path.relative_to(exported)), path.stat().st_size)
             for path in exported.rglob("*") if path.is_file()]
    directories = sorted({os.path.dirname(path) for path, _ in files})
    filler = memoryview(bytes(max(size for _, size in files)))
    started = time.perf_counter()
    for directory in directories:
        os.makedirs(directory, exist_ok=True)
    for path, size in files:
        with open(path, "wb") as file:
            file.write(filler[:size])
    return time.perf_counter() - started


def export_against_floor(store: Store, run: str, work: Path, rounds: int, atif: bool) -> None:
    """Time ``export`` and its floor (reading the artefacts plus writing the same files) in
    turn, ``rounds`` times; print the best of each and their ratio. Each round writes to
    fresh directories, deleted only at the end: deleting 60 000 files between rounds left
    the file system slower for the next round (discards, here)."""
    best = {"export": float("inf"), "read": float("inf"), "write": float("inf")}
    for round_ in range(rounds):
        started = time.perf_counter()
        export_run(store, run, work / f"export-{round_}", atif=atif)
        best["export"] = min(best["export"], time.perf_counter() - started)
        best["read"] = min(best["read"], read_floor(store, run))
        best["write"] = min(best["write"], write_floor(work / f"export-{round_}", work / f"floor-{round_}"))
    files = sum(1 for path in (work / "export-0").rglob("*") if path.is_file())
    floor = best["read"] + best["write"]
    print(f"{'export (all files)':28} {best['export']:8.2f} s  ({files} files, best of {rounds})")
    print(f"{'  floor: read artefacts':28} {best['read']:8.2f} s  (one bare query)")
    print(f"{'  floor: write the files':28} {best['write']:8.2f} s  (plain open/write)")
    print(f"{'  export / floor':28} {best['export'] / floor:8.2f} x  (floor {floor:.2f} s)", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=3000)
    parser.add_argument("--database", choices=["postgresql", "sqlite"], default="postgresql")
    parser.add_argument("--rounds", type=int, default=1, help="export and floor this many times; best of each")
    parser.add_argument("--no-atif", dest="atif", action="store_false", help="export without the ATIF files")
    parser.add_argument("--work", type=Path, default=None,
                        help="where the store (SQLite) and the files go (default: a temporary folder)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="coopbench-scale-", dir=args.work))
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
        export_against_floor(store, run, work, args.rounds, args.atif)
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
