"""Per-setting figures of a run, for ``results-manifest.json`` and the CLI table."""

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from coopbench.export.intervals import (
    LEVEL,
    pair_bootstrap_mean,
    pair_bootstrap_rate,
    pass_at_k,
    wilson_interval,
)
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


def group_by_repeat(jobs: list[FinishedJob]) -> dict[int, list[FinishedJob]]:
    """A setting's jobs per repeat (1..K of ``enqueue --repeats``), in repeat order."""
    grouped: dict[int, list[FinishedJob]] = {}
    for item in sorted(jobs, key=lambda j: j.job.repeat):
        grouped.setdefault(item.job.repeat, []).append(item)
    return grouped


def pair_key(job: Job) -> tuple[str, int, tuple[int, ...]]:
    """A pair across settings and repeats: solo keeps the features in the given order, coop
    sorts them."""
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
        **repeat_figures(jobs),
    }


def repeat_figures(jobs: list[FinishedJob]) -> dict:
    """How sure ``success_rate`` is (``coopbench.export.intervals``), over the same runs:
    every attempted run of every repeat, errors as failures, each pair one unit of evidence.
    pass@k for k up to the fewest runs any pair has, once a pair has more than one."""
    def passed(item: FinishedJob) -> bool | None:  # None: not attempted, does not count
        outcome = job_outcome(item.job)
        return outcome is JobOutcome.passed if outcome.attempted else None

    runs = _pair_outcomes(jobs, passed)
    figures: dict = {"repeats": max((j.job.repeat for j in jobs), default=1)}
    if not runs:
        return figures
    wins, tries = [sum(r) for r in runs.values()], [len(r) for r in runs.values()]
    if max(tries) == 1:
        figures["success_interval"] = _interval(*wilson_interval(sum(wins), sum(tries)), "wilson",
                                                pairs=len(runs), runs=sum(tries))
        return figures
    figures["success_interval"] = _interval(*pair_bootstrap_rate(wins, tries), "pair-bootstrap",
                                            pairs=len(runs), runs=sum(tries))
    figures["pass_at_k"] = {str(k): round(sum(pass_at_k(n, c, k) for n, c in zip(tries, wins))
                                          / len(runs), 4)
                            for k in range(1, min(tries) + 1)}
    return figures


def _interval(low: float, high: float, method: str, **counts: int) -> dict:
    return {"level": LEVEL, "method": method, "low": round(low, 4), "high": round(high, 4),
            **counts}


def _pair_outcomes(jobs: list[FinishedJob], passed) -> dict[tuple, list[bool]]:
    """Per pair, whether each of its runs passed (one per repeat); a run for which
    ``passed`` says None does not count."""
    outcomes: dict[tuple, list[bool]] = {}
    for item in jobs:
        if (result := passed(item)) is not None:
            outcomes.setdefault(pair_key(item.job), []).append(result)
    return outcomes


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


def coordination_gap(differences: list[dict]) -> dict | None:
    """Solo success minus coop success, per coop setting, over the pairs done in both, with
    the paired difference's interval: the solo rows of ``paired_differences``.

    Success is ``both_passed`` (an evaluation error is a failure); with repeats, a pair's
    success is the fraction of its done runs that passed, and each pair weighs the same.
    Only pairs that are done in solo and in that coop setting count, so queued, running and
    failed jobs of either side never skew the comparison. None when no coop setting shares
    a done pair with solo (a run without solo, for instance).
    """
    gaps = {d["second"]: {"pairs": d["pairs"], "solo_success": d["first_success"],
                          "coop_success": d["second_success"], "gap": d["difference"],
                          "gap_interval": d["interval"]}
            for d in differences if d["first"] == GAP_BASELINE}
    return gaps or None


def paired_differences(by_setting: dict[str, list[FinishedJob]]) -> list[dict]:
    """For every two settings of the run that share a done pair, the first's success minus
    the second's over those pairs (the first in the run's order first: solo minus coop, coop
    minus coop-nocomm, ...), with the pair bootstrap's 95 % interval."""
    successes = {setting: _done_successes(jobs) for setting, jobs in by_setting.items()}
    settings = list(successes)
    return [difference for i, first in enumerate(settings) for second in settings[i + 1:]
            if (difference := _paired_difference(first, successes[first], second,
                                                 successes[second])) is not None]


def _paired_difference(first: str, ours: dict[tuple, float], second: str,
                       theirs: dict[tuple, float]) -> dict | None:
    common = sorted(ours.keys() & theirs.keys())
    if not common:
        return None
    first_each, second_each = [ours[k] for k in common], [theirs[k] for k in common]
    first_success, second_success = sum(first_each) / len(common), sum(second_each) / len(common)
    low, high = pair_bootstrap_mean([a - b for a, b in zip(first_each, second_each)])
    return {"first": first, "second": second, "pairs": len(common),
            "first_success": round(first_success, 4), "second_success": round(second_success, 4),
            "difference": round(first_success - second_success, 4),
            "interval": _interval(low, high, "pair-bootstrap")}


def _done_successes(jobs: list[FinishedJob]) -> dict[tuple, float]:
    """Per pair, the fraction of its done runs that passed both features."""
    runs = _pair_outcomes(jobs, lambda j: bool(j.job.both_passed) if j.job.state == JobState.done else None)
    return {key: sum(passed) / len(passed) for key, passed in runs.items()}
