"""A Celery worker whose jobs sleep their scripted duration: ``bench/seed_shape.py``'s
stand-in for agents and tests.

    celery -A sleep_worker worker   (with bench/ on PYTHONPATH)

Everything around a job is coopbench's own and runs as in production: the broker and its
priority lists, the claim, the heartbeat, the fenced commits of the agents' stage and of the
evaluation, the acknowledgement. Only four steps are replaced: the image check (no Docker),
the evaluation's container started ahead (none), the agents (a sleep of the job's duration,
read from Redis where the bench wrote it) and the evaluation (an unscored ``eval.json``).
Containers are not in this bench on purpose: it measures the order jobs start in;
``bench/job_overhead.py`` measures what Docker adds.
"""

import os
import time

import redis

import coopbench.job.runner as runner
from coopbench.agents import AgentResult, AgentStatus
from coopbench.job.outcome import AgentsOutcome
from coopbench.job.setting import assignments
from coopbench.store import utcnow
from coopbench.store.eval_outcome import EvalOutcome
from coopbench.store.results import record_job_evaluated, start_evaluation
from workers.celery_app import get_app

DURATIONS_KEY = "coopbench-bench:durations"  # hash: job id -> seconds to sleep
DURATIONS_URL = os.environ.get("COOPBENCH_BENCH_DURATIONS_URL", "redis://127.0.0.1:6379/0")

_durations: redis.Redis | None = None


def job_seconds(job_id: str) -> float:
    global _durations
    if _durations is None:  # one client per pool process, made after the fork
        _durations = redis.Redis.from_url(DURATIONS_URL)
    seconds = _durations.hget(DURATIONS_KEY, job_id)
    if seconds is None:
        raise RuntimeError(f"no scripted duration for job {job_id} in {DURATIONS_KEY}")
    return float(seconds)


def sleep_as_agents(spec, claim, services, containers_started=None) -> AgentsOutcome:
    started = utcnow()
    time.sleep(job_seconds(spec.job.id))
    ended = utcnow()
    return AgentsOutcome([
        AgentResult(plan.agent_id, plan.feature_ids, AgentStatus.submitted, started, ended)
        for plan in assignments(spec.job.setting, spec.feature_ids)], conversation=[])


def record_unscored(spec, claim, agents_attempt_id, services, ahead=None) -> None:
    evaluation = start_evaluation(services.store, claim, agents_attempt_id, "upstream")
    record_job_evaluated(services.store, claim, evaluation, EvalOutcome({
        "repo": spec.job.repo, "task_id": spec.job.task_id, "features": spec.job.features,
        "merge": None, "both_passed": False, "error": None}))


runner.with_job_image = lambda spec, services: spec
runner.eval_container_ahead = lambda spec, attempt, services: None
runner.run_agents = sleep_as_agents
runner.run_evaluation_stage = record_unscored

app = get_app()
