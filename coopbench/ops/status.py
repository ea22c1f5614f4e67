"""A run's status, from the store alone (Flower forgets on restart; the store does not).

``run_status`` gathers everything the live view and ``status --json`` show: jobs per state
and per setting, running jobs with host, age and last heartbeat, stuck jobs (running under
an expired lease: their worker is gone or cut off, the sweeper will re-publish them),
attempts and infrastructure errors, pending evaluations, cost so far, which host is pulling
which of the run's images, the workers seen lately, and an ETA from the throughput so far.
"""

from collections import Counter, defaultdict
from datetime import datetime, timedelta

from sqlalchemy import func, select

from coopbench.dataset.images.names import image_name
from coopbench.dataset.tasks import group_label
from coopbench.store import AgentRun, Attempt, EngineImage, Evaluation, Job, JobState, Store, Worker
from coopbench.store.clock import database_now
from coopbench.store.states import FINISHED_STATES, EngineImageState

RECENT_ERRORS = 5
WORKER_SILENCE_PERIODS = 3  # a worker unseen for this many sweep periods is shown as silent


def run_status(store: Store, run_name: str, sweep_interval_s: float = 30.0) -> dict:
    with store.session() as session:
        now = database_now(session)  # leases and heartbeats are the database's times
        run = store.require_run(session, run_name)
        jobs = session.scalars(select(Job).where(Job.run_name == run_name)).all()
        attempts = session.scalars(select(Attempt).join(Job).where(Job.run_name == run_name)
                                   .order_by(Attempt.started_at)).all()
        pending_evaluations = session.scalar(
            select(func.count()).select_from(Evaluation).join(Job, Job.id == Evaluation.job_id)
            .where(Job.run_name == run_name, Evaluation.state.in_(["queued", "running"])))
        provider_wait_s = session.scalar(
            select(func.coalesce(func.sum(AgentRun.provider_wait_s), 0.0)).select_from(AgentRun)
            .join(Attempt, Attempt.id == AgentRun.attempt_id).join(Job, Job.id == Attempt.job_id)
            .where(Job.run_name == run_name))
        workers = session.scalars(select(Worker).order_by(Worker.host, Worker.name)).all()
        names = {image_name(run.image_template, job.repo, job.task_id) for job in jobs}
        pulls = session.scalars(select(EngineImage).where(
            EngineImage.state == EngineImageState.pulling, EngineImage.image.in_(names))
            .order_by(EngineImage.pull_started_at)).all()
    hosts = {a.worker: a.host for a in attempts}
    running = [j for j in jobs if j.state == JobState.running]
    by_setting: dict[str, Counter] = defaultdict(Counter)
    for job in jobs:
        by_setting[job.setting][job.state] += 1
    infra = [a for a in attempts if a.error_class == "infra"]
    costs = [j.cost_usd for j in jobs if j.state == JobState.done]
    states = Counter(j.state for j in jobs)
    finished = sum(n for state, n in states.items() if state in FINISHED_STATES)
    running_rows = [_running(job, hosts, now) for job in sorted(running, key=lambda j: j.started_at)]
    silence = timedelta(seconds=WORKER_SILENCE_PERIODS * sweep_interval_s)
    return {
        "run": run.name, "agent": run.agent, "model": run.model, "settings": run.settings,
        "created_at": _iso(run.created_at), "cancelled_at": _iso(run.cancelled_at),
        "cost_cap_usd": run.cost_cap_usd, "now": _iso(now),
        "jobs": {"total": len(jobs), "finished": finished,
                 **{state.value: states[state] for state in JobState}},
        "by_setting": {setting: dict(counts) for setting, counts in by_setting.items()},
        "running": running_rows,
        "stuck": [row["id"] for row in running_rows if row["stuck"]],
        "attempts": {"total": len(attempts), **Counter(a.state for a in attempts)},
        "infra_errors": {"total": len(infra), "recent": [
            {"job": a.job_id, "attempt": a.number, "host": a.host, "at": _iso(a.finished_at),
             "error": (a.error or "")[:300]} for a in infra[-RECENT_ERRORS:]]},
        "evaluations_pending": pending_evaluations,
        "cost": {"spent_usd": round(sum(c for c in costs if c is not None), 6),
                 "unknown_jobs": sum(1 for c in costs if c is None)},
        # Time the agents' model calls waited at the provider limits shared by every host.
        "provider_wait_seconds": round(float(provider_wait_s or 0.0), 3),
        "eta_seconds": _eta(jobs, len(jobs) - finished, now),
        # Pulls of the run's images under way, by host; a worker that died mid-pull stops
        # updating its row, which then drops out here after a few sweep periods.
        "pulls": [{"host": p.host, "image": p.image, "progress": p.progress,
                   "since": _iso(p.pull_started_at)}
                  for p in pulls if now - p.updated_at <= silence],
        "workers": [{"name": w.name, "host": w.host, "concurrency": w.concurrency,
                     "queues": w.queues, "limits": w.limits, "last_seen": _iso(w.last_seen),
                     "alive": now - w.last_seen <= silence} for w in workers],
    }


def _running(job: Job, hosts: dict[str, str], now: datetime) -> dict:
    return {
        "id": job.id, "setting": job.setting, "pair": group_label(job.repo, job.task_id, job.features),
        "worker": job.lease_owner,
        "host": hosts.get(job.lease_owner or ""), "attempt": job.attempts,
        "age_seconds": round((now - job.started_at).total_seconds(), 1) if job.started_at else None,
        "heartbeat_seconds_ago": round((now - job.heartbeat_at).total_seconds(), 1)
        if job.heartbeat_at else None,
        "stuck": bool(job.lease_expires_at and job.lease_expires_at < now),
    }


def _eta(jobs: list[Job], remaining: int, now: datetime) -> float | None:
    """Remaining jobs over the throughput so far (finished jobs per second since the first
    start); None until a job has finished, 0 when nothing is left."""
    if remaining == 0:
        return 0.0
    finished = [j for j in jobs if j.state in FINISHED_STATES and j.finished_at]
    starts = [j.started_at for j in jobs if j.started_at]
    if not finished or not starts:
        return None
    elapsed = (now - min(starts)).total_seconds()
    return round(remaining * elapsed / len(finished), 1) if elapsed > 0 else None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
