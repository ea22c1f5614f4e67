"""What the report shows, read from the store the way ``coopbench export`` reads it.

The per-setting figures and the coordination gap are ``manifest.setting_summary`` and
``manifest.coordination_gap`` over the same ``FinishedJob`` list the exporter builds, so the
page and ``results-manifest.json`` cannot disagree. Nothing is written here, and no export
file is read: a report needs no export first, and writes no trajectories it does not show.
"""

import math
from dataclasses import dataclass
from datetime import datetime

from coopbench.dataset.tasks import group_label
from coopbench.export.manifest import (
    FinishedJob,
    coordination_gap,
    group_by_setting,
    pair_key,
    paired_differences,
    setting_summary,
)
from coopbench.export.run_export import load_finished, run_block
from coopbench.job.outcome import job_outcome
from coopbench.job.setting import GAP_BASELINE
from coopbench.store import JobState, Store, utcnow
from coopbench.store.states import FINISHED_STATES


@dataclass(frozen=True)
class JobRow:
    pair: str  # group_label: "repo/3 f1_f2", the same for a pair in every setting; " r2" a repeat
    key: tuple  # manifest.pair_key and the repeat
    setting: str
    state: str
    outcome: str
    merge_status: str | None
    both_passed: bool | None
    cost_usd: float | None  # known agents' cost (the job's stored cost when it has no agents)
    cost_unknown_agents: int  # agents whose model could not be priced
    duration_s: float | None  # worker time: the sum of its finished attempts
    attempts: int
    messages: int  # sent by its agents (0 without a bus)
    error: str | None


@dataclass(frozen=True)
class AgentPoint:
    """One agent of a done job: what setting_summary's cost and step figures are made of."""

    setting: str
    cost_usd: float | None  # None: unknown, never plotted as 0
    steps: int


@dataclass(frozen=True)
class ReportData:
    run: dict  # the manifest's "run" block
    settings: dict[str, dict]  # the manifest's "settings": setting_summary per setting
    gap: dict | None  # the manifest's "coordination_gap"
    differences: list[dict]  # the manifest's "paired_differences"
    jobs: list[JobRow]  # by pair, then setting
    agents: list[AgentPoint]
    generated_at: datetime

    def jobs_in(self, setting: str) -> list[JobRow]:
        return [j for j in self.jobs if j.setting == setting]


def load_report_data(store: Store, run_name: str) -> ReportData:
    with store.session() as session:
        run, finished = load_finished(session, store, run_name)
        by_setting = group_by_setting(finished)
        order = {setting: index for index, setting in enumerate(by_setting)}
        differences = paired_differences(by_setting)
        rows = sorted((job_row(item) for item in finished), key=lambda r: (r.key, order[r.setting]))
        return ReportData(
            run=run_block(run),
            settings={s: setting_summary(items) for s, items in by_setting.items()},
            gap=coordination_gap(differences),
            differences=differences,
            jobs=rows,
            agents=[AgentPoint(item.job.setting, a.cost_usd, a.steps)
                    for item in finished if item.job.state == JobState.done for a in item.agent_runs],
            generated_at=utcnow(),
        )


def gap_matrix(data: ReportData, setting: str) -> dict[tuple[bool, bool], int]:
    """(solo passed, coop passed) -> pairs, over the pairs done in solo and in ``setting``:
    the pairs and the success definition of ``coordination_gap`` (an eval error fails).
    With repeats, runs are matched by repeat number."""
    def successes(s: str) -> dict[tuple, bool]:
        return {j.key: bool(j.both_passed) for j in data.jobs_in(s) if j.state == JobState.done}

    solo, coop = successes(GAP_BASELINE.value), successes(setting)
    counts = {(a, b): 0 for a in (True, False) for b in (True, False)}
    for key in solo.keys() & coop.keys():
        counts[(solo[key], coop[key])] += 1
    return counts


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile: always one of the values (p50 of 1 value is that value)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def human_duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.1f}min"
    return f"{seconds / 3600:.1f}h"


def job_row(item: FinishedJob) -> JobRow:
    """A job as the report's and the viewer's tables show it."""
    job, runs = item.job, item.agent_runs
    unknown = sum(1 for a in runs if a.cost_usd is None)
    cost = sum(a.cost_usd for a in runs if a.cost_usd is not None) if runs else job.cost_usd
    if runs and unknown == len(runs):
        cost = None
    # Worker time, not first claim to finish: a later `coopbench evaluate` moves the job's
    # finished_at, and a retry's backoff is waiting, not work. Evaluations run inside an
    # attempt are included; standalone re-evaluations are not.
    spans = [(a.finished_at - a.started_at).total_seconds()
             for a in job.attempt_rows if a.finished_at is not None]
    finished = job.state in FINISHED_STATES
    repeat = f" r{job.repeat}" if job.repeat > 1 else ""
    return JobRow(
        pair=group_label(*pair_key(job)) + repeat, key=(*pair_key(job), job.repeat),
        setting=job.setting, state=job.state,
        outcome=job_outcome(job), merge_status=job.merge_status, both_passed=job.both_passed,
        cost_usd=cost, cost_unknown_agents=unknown,
        duration_s=sum(spans) if finished and spans else None, attempts=job.attempts,
        messages=sum(a.messages_sent for a in runs),
        error=job.error or (item.evaluation.error if item.evaluation else None),
    )
