"""Per-setting figures of a run, for ``results-manifest.json`` and the CLI table."""

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from coopbench.job.outcome import JobOutcome, job_outcome
from coopbench.job.setting import GAP_BASELINE, Setting, setting_row
from coopbench.store import AgentRun, Evaluation, Job, JobState

# New keys are only ever added; a version bump means one changed meaning. 2: scored by
# upstream 0.0.29's procedure (no union merge: merge_union_resolved is gone).
MANIFEST_VERSION = 2


@dataclass(frozen=True)
class FinishedJob:
    """A job with the agent runs whose patches it stands on (none if it failed), and the
    evaluation its results come from (none if it has no finished one)."""

    job: Job
    agent_runs: list[AgentRun]
    evaluation: Evaluation | None = None

    @property
    def merge_strategy(self) -> str | None:
        """eval.json's merge.strategy: naive | solo-agent1 | skip-merge-identical | None."""
        return self.evaluation.merge_strategy if self.evaluation else None

    @property
    def naive_conflicted(self) -> bool:
        """The naive merge conflicted (both patches applied)."""
        return bool(self.evaluation and self.evaluation.naive_conflict)

    @property
    def evaluated_at(self) -> datetime | None:
        return self.evaluation.finished_at if self.evaluation else None


def group_by_setting(finished: list[FinishedJob]) -> dict[str, list[FinishedJob]]:
    """Jobs per setting, settings in their canonical order (solo, coop, coop-nocomm)."""
    known = [s.value for s in Setting]
    grouped: dict[str, list[FinishedJob]] = {}
    for item in finished:
        grouped.setdefault(item.job.setting, []).append(item)
    order = sorted(grouped, key=lambda s: known.index(s) if s in known else len(known))
    return {setting: grouped[setting] for setting in order}


def pair_key(job: Job) -> tuple[str, int, tuple[int, ...]]:
    """A pair across settings: solo keeps the features in the given order, coop sorts them."""
    return job.repo, job.task_id, tuple(sorted(job.features))


def setting_summary(jobs: list[FinishedJob]) -> dict:
    done = [j for j in jobs if j.job.state == JobState.done]
    agents = [run for j in done for run in j.agent_runs]
    outcomes = Counter(job_outcome(j.job) for j in jobs)
    evaluated = sum(n for outcome, n in outcomes.items() if outcome.evaluated)
    eval_errors = outcomes[JobOutcome.eval_error]
    both_passed = outcomes[JobOutcome.passed]
    infra_errors = outcomes[JobOutcome.infra_error]
    config_errors = outcomes[JobOutcome.config_error]
    # The paper's success rate: every finished pair counts, and errors (evaluation,
    # infrastructure, configuration) count as failures. Queued and running pairs do not count.
    attempted = sum(n for outcome, n in outcomes.items() if outcome.attempted)
    costs = [j.job.cost_usd or 0.0 for j in done]
    started = [j.job.started_at for j in done if j.job.started_at]
    finished = [j.job.finished_at for j in done if j.job.finished_at]
    return {
        "pairs": len(jobs),
        "done": len(done),
        "queued": sum(1 for j in jobs if j.job.state == JobState.queued),
        "running": sum(1 for j in jobs if j.job.state == JobState.running),
        "agents": len(agents),
        "submitted": sum(1 for a in agents if a.status == "Submitted"),
        "limits_exceeded": sum(1 for a in agents if a.status == "LimitsExceeded"),
        "agent_errors": sum(1 for a in agents if a.status == "Error"),
        "patches": sum(1 for a in agents if a.patch_lines > 0),
        "total_cost": round(sum(costs), 6),
        "avg_cost": round(sum(costs) / len(done), 6) if done else 0.0,
        "avg_steps": round(sum(a.steps for a in agents) / len(agents), 3) if agents else 0.0,
        "messages": sum(a.messages_sent for a in agents),
        "messages_received": sum(a.messages_received for a in agents),
        # Agents whose model litellm could not price: their cost is unknown, not $0, and the
        # totals above leave them out.
        "cost_unknown_agents": sum(1 for a in agents if a.cost_usd is None),
        "input_tokens": sum(a.input_tokens for a in agents),
        "output_tokens": sum(a.output_tokens for a in agents),
        "cache_read_tokens": sum(a.cache_read_tokens for a in agents),
        "cache_write_tokens": sum(a.cache_write_tokens for a in agents),
        # Time the agents' model calls waited at the provider limits shared by every host.
        "provider_wait_seconds": round(sum(a.provider_wait_s or 0.0 for a in agents), 3),
        "wall_time_seconds": (
            round((max(finished) - min(started)).total_seconds(), 3) if started and finished else 0.0
        ),
        "infra_errors": infra_errors,
        "config_errors": config_errors,
        "eval_errors": eval_errors,
        "evaluated": evaluated,  # evaluated without an evaluation error
        "both_passed": both_passed,
        # Upstream's definition: evaluation errors are left out of the denominator.
        "pass_rate": round(both_passed / evaluated, 4) if evaluated else 0.0,
        "success_rate": round(both_passed / attempted, 4) if attempted else 0.0,
        **merge_counts(done),
    }


def merge_counts(done: list[FinishedJob]) -> dict:
    """How the coop merges went (all 0 for solo, which has no merge), by merge status.

    Upstream's statuses: ``clean``, ``conflicts`` (the naive merge conflicted; the pair is
    then judged on the lead's patch alone, counted again in ``merge_lead_alone_passed``
    when that passed both features), ``missing_input`` (a patch did not apply),
    ``identical`` (both agents submitted the same patch) and ``error``.
    ``merge_conflicts / evaluated pairs`` is the paper's conflict rate.
    """
    coop = [j for j in done if setting_row(j.job.setting).multi_agent]
    status = [j.job.merge_status for j in coop]
    return {
        "merge_clean": status.count("clean"),
        "merge_conflicts": sum(1 for j in coop if j.naive_conflicted),
        "merge_lead_alone_passed": sum(1 for j in coop if j.merge_strategy == "solo-agent1"),
        "merge_identical": status.count("identical"),
        "merge_missing_input": status.count("missing_input"),
        "merge_errors": status.count("error"),
    }


def coordination_gap(by_setting: dict[str, list[FinishedJob]]) -> dict | None:
    """Solo success minus coop success, per coop setting, over the pairs done in both.

    Success is ``both_passed`` (an evaluation error is a failure). Only pairs that are
    done in solo and in that coop setting count, so queued, running and failed jobs of
    either side never skew the comparison. None when no coop setting shares a done pair
    with solo (a run without solo, for instance).
    """
    solo = _successes(by_setting.get(GAP_BASELINE.value, []))
    gaps = {}
    for setting, jobs in by_setting.items():
        if setting == GAP_BASELINE or not solo:
            continue
        coop = _successes(jobs)
        common = solo.keys() & coop.keys()
        if not common:
            continue
        solo_success = sum(solo[k] for k in common) / len(common)
        coop_success = sum(coop[k] for k in common) / len(common)
        gaps[setting] = {
            "pairs": len(common),
            "solo_success": round(solo_success, 4),
            "coop_success": round(coop_success, 4),
            "gap": round(solo_success - coop_success, 4),
        }
    return gaps or None


def _successes(jobs: list[FinishedJob]) -> dict[tuple, bool]:
    return {pair_key(j.job): bool(j.job.both_passed) for j in jobs if j.job.state == JobState.done}
