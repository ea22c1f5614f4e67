"""One job as its page shows it, read from the store: each agent's steps (through
``coopbench.export.atif``), the messages matched to steps, the patches in hunks, the merge
and each feature's tests.

Artefacts are read as ``coopbench export`` reads them (``run_export.current_artifacts``):
the agents' files of the attempt the job stands on, and its current evaluation's.
"""

import json
from collections.abc import Iterator
from dataclasses import dataclass

from coopbench.errors import ConfigError
from coopbench.export.atif import AtifJob, atif_trajectory
from coopbench.export.job_files import message_list
from coopbench.export.manifest import FinishedJob
from coopbench.export.report.data import job_row  # the report's one row rule
from coopbench.export.run_export import current_artifacts, finished_job, load_finished
from coopbench.job.setting import assignments
from coopbench.store import Artifact, Evaluation, Job, Run, Store
from coopbench.view.hunks import FileDiff, mark_conflicts, parse_patch
from coopbench.view.layout import grid_rows
from coopbench.view.messages import MessageLink, match_messages
from coopbench.view.run_rows import RunRow
from coopbench.view.steps import Timeline, timeline


@dataclass(frozen=True)
class AgentColumn:
    agent_id: str
    feature_ids: list[int]
    status: str  # Submitted | LimitsExceeded | Error, or "not run"
    cost_usd: float | None  # None: unknown (an unpriced model)
    input_tokens: int
    output_tokens: int
    error: str | None
    timeline: Timeline
    patch: list[FileDiff]

    @property
    def tokens(self) -> int:
        """Prompt and completion tokens: the trajectory's calls added up, where the adapter
        reported none to the store (upstream's adapters do not)."""
        steps = self.timeline.steps
        return steps[-1].total_tokens if steps else self.input_tokens + self.output_tokens


@dataclass(frozen=True)
class FeatureResult:
    feature_id: int
    passed: bool | None  # None: not tested (the merge failed, or not scored)
    tests_passed: int | None
    tests_failed: int | None
    output: str


@dataclass(frozen=True)
class Merge:
    status: str | None  # clean | conflicts | identical | missing_input | error; None in solo
    strategy: str | None  # naive | solo-agent1 | skip-merge-identical
    naive_conflict: bool | None
    apply_status: dict  # agent -> applied | failed


@dataclass(frozen=True)
class JobPage:
    run: str
    row: RunRow
    agents: list[AgentColumn]
    links: list[MessageLink]
    rows: dict[tuple[str, int], int]  # (agent, step) -> its grid row
    merge: Merge | None  # None: no evaluation
    features: list[FeatureResult]
    not_scored: list[int]  # features upstream's procedure leaves out (groups of more than 2)
    eval_error: str | None
    conflicting_hunks: int


def load_job_page(store: Store, run_name: str, job_id: str) -> JobPage:
    """One job's page; ConfigError when the run has no such job."""
    with store.session() as session:
        run = store.require_run(session, run_name)
        job = session.get(Job, job_id)
        if job is None or job.run_name != run_name:
            raise ConfigError(f"run {run_name!r} has no job {job_id!r}")
        evaluation = session.get(Evaluation, job.evaluation_id) if job.evaluation_id else None
        item = finished_job(job, evaluation)
        artifacts = next(iter(_artifacts(session, [item])), (item, {}))[1]
        return job_page(run, item, artifacts)


def iter_job_pages(store: Store, run_name: str) -> Iterator[JobPage]:
    """The page of every job of the run whose agents finished (the others have none)."""
    with store.session() as session:
        run, finished = load_finished(session, store, run_name)
        for item, artifacts in _artifacts(session, [i for i in finished if i.agent_runs]):
            yield job_page(run, item, artifacts)


def _artifacts(session, items: list[FinishedJob]) -> Iterator[tuple[FinishedJob, dict[str, bytes]]]:
    """Each job with its current files; a job with no evaluation yet has its agents' runs
    but no files the exporter would read (it reads evaluated jobs only)."""
    yield from current_artifacts(session, [i for i in items if i.evaluation is not None])
    for item in items:
        if item.evaluation is None:
            yield item, {}


def job_page(run: Run, item: FinishedJob, artifacts: dict[str, bytes]) -> JobPage:
    job = item.job
    files = {name: Artifact.inflate(data).decode("utf-8", "replace") for name, data in artifacts.items()}
    plan = assignments(job.setting, job.features)
    atif_job = AtifJob(job_id=job.id, agent_name=run.agent, agent_version="", coopbench_version="",
                       model=run.model, agent_files={a.agent_id: a.agent_id for a in plan})
    runs = {r.agent_id: r for r in item.agent_runs}
    agents = [_column(a.agent_id, list(a.feature_ids), runs.get(a.agent_id), files, atif_job)
              for a in plan]
    conflicting = mark_conflicts({a.agent_id: a.patch for a in agents}) if len(agents) > 1 else 0
    links = match_messages(_conversation(files), {a.agent_id: a.timeline.steps for a in agents},
                           {a.agent_id: a.timeline.trailing for a in agents})
    body = _json(files.get("eval.json"))
    return JobPage(
        run=run.name,
        row=RunRow(job.id, job.repo, job.repeat, bool(item.agent_runs), job_row(item)),
        agents=agents, links=links,
        rows=grid_rows({a.agent_id: a.timeline.steps for a in agents}, links),
        merge=_merge(item.evaluation, body), features=_features(job, item.evaluation, body),
        not_scored=list(body.get("features_not_scored") or []),
        eval_error=(item.evaluation.error if item.evaluation else None) or body.get("error"),
        conflicting_hunks=conflicting,
    )


def _column(agent_id: str, feature_ids: list[int], agent_run, files: dict[str, str],
            atif_job: AtifJob) -> AgentColumn:
    messages = message_list(_json(files.get(f"{agent_id}_traj.json"), []))
    steps = atif_trajectory(messages, agent_id, atif_job)["steps"] if messages else []
    return AgentColumn(
        agent_id=agent_id, feature_ids=feature_ids,
        status=agent_run.status if agent_run else "not run",
        cost_usd=agent_run.cost_usd if agent_run else None,
        input_tokens=agent_run.input_tokens if agent_run else 0,
        output_tokens=agent_run.output_tokens if agent_run else 0,
        error=agent_run.error if agent_run else None,
        timeline=timeline(steps), patch=parse_patch(files.get(f"{agent_id}.patch", "")))


def _conversation(files: dict[str, str]) -> list[dict]:
    messages = _json(files.get("conversation.json"), [])
    return [m for m in messages if isinstance(m, dict)] if isinstance(messages, list) else []


def _merge(evaluation: Evaluation | None, body: dict) -> Merge | None:
    if evaluation is None:
        return None
    merge = body.get("merge") or {}
    return Merge(evaluation.merge_status or merge.get("status"),
                 evaluation.merge_strategy or merge.get("strategy"), evaluation.naive_conflict,
                 dict(body.get("apply_status") or {}))


def _features(job: Job, evaluation: Evaluation | None, body: dict) -> list[FeatureResult]:
    """Each scored feature's tests: pass or fail from the evaluation row, counts and output
    from eval.json (``feature1``, ``feature2``: the features in the order they were scored)."""
    if evaluation is None:
        return []
    passed = {str(k): v for k, v in (evaluation.feature_results or {}).items()}
    order = list(job.features) if len(assignments(job.setting, job.features)) == 1 else sorted(job.features)
    results = []
    for index, default_id in enumerate(order, start=1):
        entry = body.get(f"feature{index}")
        if not isinstance(entry, dict):
            continue
        fid = entry.get("feature_id") or default_id
        results.append(FeatureResult(
            int(fid), passed.get(str(fid), entry.get("passed")), entry.get("tests_passed"),
            entry.get("tests_failed"), str(entry.get("test_output") or entry.get("output") or "")))
    return results


def _json(text: str | None, default=None):
    if text is None:
        return {} if default is None else default
    try:
        return json.loads(text)
    except ValueError:
        return {} if default is None else default
