"""Expanding a run into jobs, committing them, then ringing one Celery doorbell per job.

Order of work, so that a failure leaves nothing half-written: check the broker and the
database, write the run, its task snapshot and its jobs in one transaction, and only then
publish. A message is only a doorbell (the job id, also the Celery task id); a job that is
committed but not published is found again by the next enqueue (or the sweeper).
"""

import logging
from dataclasses import dataclass, field
from typing import NamedTuple

from sqlalchemy import select

from coopbench.config import Settings
from coopbench.dataset.images.pull import PullPolicy
from coopbench.dataset.tasks import Pair, Task
from coopbench.errors import ConfigError
from coopbench.evaluation.patches import TestFilter
from coopbench.job.setting import Setting, job_id
from coopbench.sandbox.containers import Network
from coopbench.store import Job, JobState, Run, Store, TaskFeature, utcnow
from coopbench.store.claims import is_due
from coopbench.store.published import publish_and_stamp
from scheduler.order import PlannedJob, StartOrder, predict, priorities
from workers.publish import Publisher

log = logging.getLogger(__name__)


class RequestedJob(NamedTuple):
    pair: Pair
    setting: Setting
    job_id: str
    repeat: int  # 1..K


@dataclass(frozen=True)
class RunRequest:
    name: str
    dataset: str
    pairs: list[Pair]
    tasks: dict[tuple[str, int], Task]
    settings: list[Setting]
    agent: str
    model: str | None
    step_limit: int
    cost_limit_usd: float
    image_template: str
    sandbox_network: str = "default"  # agent and evaluation containers: default | none
    test_filter: str = "upstream"  # which test-file filter evaluation applies to patches
    pull: str = "missing"  # when workers pull a job's image: never | missing | always
    agent_config: dict = field(default_factory=dict)  # --agent-config, validated, no secrets
    team_features: dict = field(default_factory=dict)  # team's harness switches (all on: {})
    cost_cap_usd: float | None = None  # None: keep the run's (no cap for a new run); 0: no cap
    force: bool = False
    order: StartOrder = StartOrder.longest_first  # which queued job starts first
    repeats: int = 1  # each (pair, setting) this many times, as separate jobs

    def jobs(self) -> list[RequestedJob]:
        """The run's jobs in publish order: repeat-major (a run stopped early has whole
        repeats), then pair-major, so a pair's settings interleave."""
        return [RequestedJob(pair, setting, job_id(self.name, pair.repo, pair.task_id,
                                                   pair.features, setting, repeat), repeat)
                for repeat in range(1, self.repeats + 1)
                for pair in self.pairs for setting in self.settings]

@dataclass
class EnqueueReport:
    run: str
    jobs_total: int = 0
    jobs_added: int = 0
    jobs_reset: int = 0
    published: int = 0
    already_finished: int = 0
    running: int = 0
    by_setting: dict[str, int] = field(default_factory=dict)


def enqueue_run(settings: Settings, request: RunRequest) -> EnqueueReport:
    store = Store.open(settings)
    publisher = Publisher(settings)
    store.check()
    publisher.check()
    store.upgrade()
    report = EnqueueReport(request.name)
    with store.session() as session, session.begin():
        _write_run(session, request, settings)
        _write_task_snapshot(session, request)
        _write_jobs(session, request, report)
    published = publish_and_stamp(store, Job, lambda: publisher.publish_stored(
        store, _unpublished_job_ids(store, request)))
    report.published = len(published)
    return report


def _changed(key: str, stored, asked) -> str:
    if key == "team_features":  # recorded as the switches turned off: say them as the flags
        def flags(switches: dict) -> str:
            return " ".join(f"--team-no-{name.replace('_', '-')}" for name in sorted(switches)) or "none"
        return f"team switches {flags(stored)!r} (asked {flags(asked)!r})"
    return f"--{key.replace('_', '-')} {stored!r} (asked {asked!r})"


def _write_run(session, request: RunRequest, settings: Settings) -> None:
    existing = session.get(Run, request.name)
    if existing is None:
        session.add(Run(
            name=request.name, created_at=utcnow(), dataset=request.dataset, agent=request.agent,
            model=request.model, settings=[s.value for s in request.settings],
            step_limit=request.step_limit, cost_limit_usd=request.cost_limit_usd,
            image_template=request.image_template, cost_cap_usd=request.cost_cap_usd or None,
            config={"sandbox_network": request.sandbox_network,
                    "test_filter": request.test_filter,
                    "pull": request.pull,
                    "agent_config": request.agent_config,
                    "team_features": request.team_features,
                    **settings.model_dump(exclude={"database_url", "broker_url", "bus_url"})},
        ))
        return
    stored = {"agent": existing.agent, "model": existing.model,
              "step_limit": existing.step_limit, "cost_limit": existing.cost_limit_usd,
              "image_template": existing.image_template,
              "sandbox_network": Network.of_run(existing.config).value,
              "test_filter": TestFilter.of_run(existing.config).value,
              "pull": PullPolicy.of_run(existing.config).value,
              "agent_config": existing.config.get("agent_config") or {},
              "team_features": existing.config.get("team_features") or {}}
    asked = {"agent": request.agent, "model": request.model, "step_limit": request.step_limit,
             "cost_limit": request.cost_limit_usd, "image_template": request.image_template,
             "sandbox_network": request.sandbox_network, "test_filter": request.test_filter,
             "pull": request.pull, "agent_config": request.agent_config,
             "team_features": request.team_features}
    changed = [_changed(key, stored[key], asked[key]) for key in stored if stored[key] != asked[key]]
    if changed:  # a run's jobs must all mean the same thing; resuming must not change them
        raise ConfigError(
            f"run {request.name!r} already exists with {', '.join(changed)}; "
            "resume it with the same options, or choose another --run name"
        )
    if request.cost_cap_usd is not None:  # raising (or lifting) the cap is how a run goes on
        existing.cost_cap_usd = request.cost_cap_usd or None
    added = [s.value for s in request.settings if s.value not in existing.settings]
    existing.settings = existing.settings + added  # a new list: JSON columns track assignment


def _write_task_snapshot(session, request: RunRequest) -> None:
    """Copy the specs and patches the jobs need into the store: workers need no dataset."""
    needed = {(p.repo, p.task_id, fid) for p in request.pairs for fid in p.features}
    have = set(session.execute(
        select(TaskFeature.repo, TaskFeature.task_id, TaskFeature.feature_id)
        .where(TaskFeature.run_name == request.name)
    ).all())
    for repo, task_id, fid in sorted(needed - have):
        task = request.tasks[(repo, task_id)]
        session.add(TaskFeature(
            run_name=request.name, repo=repo, task_id=task_id, feature_id=fid,
            spec=task.spec(fid), gold_patch=task.gold_patch(fid), tests_patch=task.tests_patch(fid),
        ))


def _write_jobs(session, request: RunRequest, report: EnqueueReport) -> None:
    now = utcnow()
    predictions, bands = {}, {}  # discovery order: no band, so one FIFO list
    if request.order is StartOrder.longest_first:
        planned = [PlannedJob(job.job_id, job.pair, job.setting) for job in request.jobs()]
        predictions = predict(session, planned, request.tasks, request.model, request.agent,
                              request.name)
        bands = priorities([job.job_id for job in planned], predictions)
    existing = {job.id: job for job in session.scalars(  # one query, not one per job
        select(Job).where(Job.run_name == request.name))}
    for pair, setting, jid, repeat in request.jobs():
        report.jobs_total += 1
        report.by_setting[setting] = report.by_setting.get(setting, 0) + 1
        job = existing.get(jid)
        if job is None:
            job = Job(id=jid, run_name=request.name, repo=pair.repo, task_id=pair.task_id,
                      features=list(pair.features), setting=setting, repeat=repeat,
                      state=JobState.queued, enqueued_at=now)
            session.add(job)
            report.jobs_added += 1
        elif job.state == JobState.running:
            report.running += 1
        elif job.state != JobState.queued and request.force:
            # Attempts, agent runs and artefacts of earlier attempts stay; only the job's
            # current outcome is cleared.
            job.state, job.enqueued_at, job.finished_at = JobState.queued, now, None
            job.published_at = job.due_at = None
            job.result = job.eval_status = job.both_passed = job.merge_status = None
            job.cost_usd = job.error = None
            job.agents_attempt_id = job.evaluation_id = None  # the agents run again
            report.jobs_reset += 1
        elif job.state != JobState.queued:
            report.already_finished += 1
        if job.state == JobState.queued:  # its start order, by this enqueue's prediction
            prediction = predictions.get(jid)
            job.predicted_s, job.priority = prediction and prediction.seconds, bands.get(jid)


def _unpublished_job_ids(store: Store, request: RunRequest) -> list[str]:
    """Queued jobs of this request whose message has not gone out yet (published longest
    expected first: ``Publisher.publish_stored``).

    A job already published is not published again: its message is in the queue, or its
    loss is the sweeper's business. Duplicates would be harmless (the claim), only noisy.
    """
    with store.session() as session:
        pending = set(session.scalars(
            select(Job.id).where(Job.run_name == request.name, Job.state == JobState.queued,
                                 Job.published_at.is_(None), is_due())  # retries: when due
        ).all())
    return [job.job_id for job in request.jobs() if job.job_id in pending]
