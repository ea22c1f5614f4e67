"""A job's outcome: its agents' in upstream's ``result.json`` shape (reference 5.2, 5.3),
and the one classification of a job (passed, failed, ...) that every view reads."""

import enum
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from coopbench.agents import AgentResult
from coopbench.job.setting import setting_row
from coopbench.store import AgentRun, Job, JobState, Run
from coopbench.store.states import EvalStatus

log = logging.getLogger(__name__)


@dataclass
class AgentsOutcome:
    """What a job's agents stage gives back, before it is stored."""

    results: list[AgentResult]
    conversation: list[dict]  # conversation.json (multi-agent settings only)
    log_files: dict[str, str] = field(default_factory=dict)  # what an upstream adapter wrote
    result_fields: dict = field(default_factory=dict)  # result.json keys the harness adds
    # Deletes the attempt's bus keys: called once the outcome is committed, never before.
    delete_bus: Callable[[], object] | None = None


def delete_bus_quietly(delete: Callable[[], object] | None, job_id: str) -> None:
    """Delete a job's bus keys; a failure is logged, never the attempt's: the agents' work
    is committed (or failed for its own reason) by then, and the keys are small."""
    if delete is None:
        return
    try:
        delete()
    except Exception as error:  # Redis away or refusing: not worth a result
        log.warning("job %s: its bus keys were not deleted (%s: %s); coopbench's expire, "
                    "upstream's stay under run:<job id>.<attempt>:", job_id,
                    error.__class__.__name__, error)


def model_label(run: Run) -> str:
    """Upstream's ``model`` is a string: an agent without a model (the oracle) gives its name."""
    return run.model or run.agent


def agent_entry(result: AgentResult) -> dict:
    return {
        "status": str(result.status),
        "cost": result.cost_usd or 0.0,
        "steps": result.steps,
        "input_tokens": result.input_tokens,
        "output_tokens": result.output_tokens,
        "cache_read_tokens": result.cache_read_tokens,
        "cache_write_tokens": result.cache_write_tokens,
        "patch_lines": result.patch_lines,
        "error": result.error,
    }


def result_json(run: Run, job: Job, results: list[AgentResult],
                image: dict | None = None, fields: dict | None = None) -> dict:
    """Upstream's result.json of a job; ``fields`` (what the harness adds or knows better,
    e.g. team's metrics) after upstream's own keys; ``image`` (coopbench's: the name, digest
    and id its containers ran) when given."""
    started = min(r.started_at for r in results)
    ended = max(r.ended_at for r in results)
    row = setting_row(job.setting)
    solo = not row.multi_agent
    body = {
        "repo": job.repo,
        "task_id": job.task_id,
        "features": list(job.features) if solo else sorted(job.features),
        "setting": row.layout_name,
        "run_id": job.id[:8],
        "run_name": run.name,
        "agent_framework": run.agent,
        "model": model_label(run),
        "started_at": started.isoformat(),
        "ended_at": ended.isoformat(),
        "duration_seconds": round((ended - started).total_seconds(), 3),
    }
    if row.team:  # upstream's team runner: agent1 leads
        body["lead_agent"] = "agent1"
    if solo:
        body["agent"] = agent_entry(results[0])
    else:
        body["agents"] = {
            r.agent_id: {"feature_id": r.feature_ids[0], **team_role(row.team, r.agent_id),
                         **agent_entry(r)} for r in results
        }
    body["total_cost"] = sum(r.cost_usd or 0.0 for r in results)
    body["total_steps"] = sum(r.steps for r in results)
    if not solo:
        body["messages_sent"] = sum(r.messages_sent for r in results)
    body.update(fields or {})
    if image is not None:
        body["image"] = image
    return body


def team_role(team: bool, agent_id: str) -> dict:
    """A team agent's role, as upstream's team runner records it; nothing in other settings."""
    return {"team_role": "lead" if agent_id == "agent1" else "member"} if team else {}


def agent_run_row(result: AgentResult) -> AgentRun:
    return AgentRun(
        agent_id=result.agent_id, feature_ids=list(result.feature_ids), status=str(result.status),
        steps=result.steps, cost_usd=result.cost_usd, input_tokens=result.input_tokens,
        output_tokens=result.output_tokens, cache_read_tokens=result.cache_read_tokens,
        cache_write_tokens=result.cache_write_tokens, messages_sent=result.messages_sent,
        messages_received=result.messages_received, patch_lines=result.patch_lines,
        error=result.error, started_at=result.started_at, ended_at=result.ended_at,
        provider_wait_s=result.provider_wait_s,
    )


class JobOutcome(enum.StrEnum):
    """What a job came to; every job has exactly one. The manifest, the report, upstream's
    summary files and the status view count these, and nothing else."""

    passed = "passed"  # evaluated: every feature's tests passed
    failed = "failed"  # evaluated: not every feature's tests passed
    eval_error = "eval error"  # upstream's evaluation error (a failed merge, for instance)
    infra_error = "infra error"
    config_error = "config error"
    cancelled = "cancelled"
    running = "running"
    queued = "queued"

    @property
    def evaluated(self) -> bool:
        return self in (JobOutcome.passed, JobOutcome.failed)

    @property
    def attempted(self) -> bool:
        """Counts in the paper's success rate: finished, errors counting as failures."""
        return self not in (JobOutcome.cancelled, JobOutcome.running, JobOutcome.queued)


def job_outcome(job: Job) -> JobOutcome:
    if job.state == JobState.done:
        if job.eval_status == EvalStatus.error:
            return JobOutcome.eval_error
        return JobOutcome.passed if job.both_passed else JobOutcome.failed
    return {JobState.failed: JobOutcome.config_error, JobState.failed_infra: JobOutcome.infra_error,
            JobState.cancelled: JobOutcome.cancelled, JobState.running: JobOutcome.running,
            }.get(JobState(job.state), JobOutcome.queued)
