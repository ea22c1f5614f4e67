"""Export a run from the store: ``results-manifest.json`` and CooperBench-layout files.

Layout (reference 5, with our run name carrying the setting): per setting, upstream's
run-level files in ``<out>/<run>-<setting>/`` (see ``upstream_files``), and per job
``<out>/<run>-<setting>/<solo|coop>/<repo>/<task_id>/f<a>_f<b>/``. Every file is written
to a temporary name and renamed, and the manifest is written last, so an interrupted
export never leaves a file half-written.
"""

import copy
import json
import logging
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from coopbench.dataset.tasks import group_dir_name
from coopbench.errors import ConfigError
from coopbench.export.files import write_atomic, write_json
from coopbench.export.manifest import (
    MANIFEST_VERSION,
    FinishedJob,
    coordination_gap,
    group_by_setting,
    setting_summary,
)
from coopbench.export.upstream_files import run_files
from coopbench.job.hosted_agents import LOG_DIR_ARTIFACT
from coopbench.job.outcome import model_label, team_role
from coopbench.job.setting import assignments, setting_row
from coopbench.store import AgentRun, Artifact, Attempt, Evaluation, Job, JobState, Run, Store, utcnow
from coopbench.store.results import evaluation_artifact_name

log = logging.getLogger(__name__)

MANIFEST_NAME = "results-manifest.json"
ARTIFACT_BATCH = 200  # jobs whose files are read at once: few queries, bounded memory


def load_finished(session, store: Store, run_name: str) -> tuple[Run, list[FinishedJob]]:
    """A run and each of its jobs with what its results stand on: its agents' runs and its
    current evaluation (what ``export`` writes and ``report`` draws)."""
    run = store.require_run(session, run_name)
    run.images  # noqa: B018 - loaded now: config.json and the manifest read it after the session
    if any(setting_row(s).scoring is None for s in run.settings):  # no agents, no scores
        raise ConfigError(f"run {run_name!r} is a gold check; `coopbench gold-check` writes "
                          "its report")
    jobs = session.scalars(
        select(Job).where(Job.run_name == run_name)
        .options(selectinload(Job.attempt_rows).selectinload(Attempt.agent_runs))
        .order_by(Job.repo, Job.task_id, Job.setting, Job.id)
    ).all()
    # One query for every current evaluation, not one per job: runs have thousands.
    evaluations = {e.id: e for e in session.scalars(
        select(Evaluation).join(Job, Job.evaluation_id == Evaluation.id)
        .where(Job.run_name == run_name))}
    return run, [finished_job(job, evaluations.get(job.evaluation_id)) for job in jobs]


def run_block(run: Run) -> dict:
    """The manifest's ``run`` entry (also the report's header)."""
    return {
        "name": run.name, "created_at": run.created_at.isoformat(), "dataset": run.dataset,
        "agent": run.agent, "model": run.model, "settings": run.settings,
        "step_limit": run.step_limit, "cost_limit_usd": run.cost_limit_usd,
        "image_template": run.image_template,
        "images": run.image_digests,
    }


def finished_job(job: Job, evaluation: Evaluation | None) -> FinishedJob:
    if job.state != JobState.done:
        return FinishedJob(job, [])
    agents = next((a for a in job.attempt_rows if a.id == job.agents_attempt_id), None)
    return FinishedJob(job, list(agents.agent_runs), evaluation) if agents else FinishedJob(job, [])


def export_run(store: Store, run_name: str, out: Path) -> dict:
    with store.session() as session:
        run, finished = load_finished(session, store, run_name)
        exported = [item for item in finished if item.evaluation is not None]
        for start in range(0, len(exported), ARTIFACT_BATCH):
            batch = exported[start:start + ARTIFACT_BATCH]
            files = _artifacts(session, batch)
            for item in batch:
                _write_job_files(out, job_dir(run_name, item.job), item, files[item.job.id])
    by_setting = group_by_setting(finished)
    for setting, items in by_setting.items():
        for name, body in run_files(run, setting, items).items():
            write_json(out / f"{run_name}-{setting}" / name, body)
    manifest = {
        "manifest_version": MANIFEST_VERSION,
        "exported_at": utcnow().isoformat(),
        "run": run_block(run),
        "settings": {s: setting_summary(items) for s, items in by_setting.items()},
    }
    gap = coordination_gap(by_setting)
    if gap:  # only when solo and a coop setting share done pairs
        manifest["coordination_gap"] = gap
    manifest["jobs"] = [_manifest_entry(item, run_name) for item in finished]
    write_json(out / MANIFEST_NAME, manifest)
    return manifest


def job_dir(run_name: str, job: Job) -> Path:
    return (Path(f"{run_name}-{job.setting}") / setting_row(job.setting).layout_name / job.repo
            / str(job.task_id) / group_dir_name(job.features))


def _artifacts(session, items: list[FinishedJob]) -> dict[str, dict[str, Artifact]]:
    """Done jobs' files by job id: their agents' outputs and their current evaluation's
    (``eval/n/`` names without the prefix). Two queries per batch, not two per job."""
    agents = {item.job.agents_attempt_id: item.job.id for item in items}
    evaluations = {item.evaluation.id: item.evaluation for item in items}
    files: dict[str, dict[str, Artifact]] = {item.job.id: {} for item in items}
    for artifact in session.scalars(select(Artifact).where(
            Artifact.attempt_id.in_(agents), Artifact.evaluation_id.is_(None))):
        files[agents[artifact.attempt_id]][artifact.name] = artifact
    for artifact in session.scalars(select(Artifact).where(
            Artifact.evaluation_id.in_(evaluations))):
        evaluation = evaluations[artifact.evaluation_id]
        prefix = evaluation_artifact_name(evaluation.number, "")
        files[evaluation.job_id][artifact.name.removeprefix(prefix)] = artifact
    return files


def _write_job_files(out: Path, relative: Path, item: FinishedJob,
                     artifacts: dict[str, Artifact]) -> None:
    """Write one job's files under ``out / relative``."""
    job, directory = item.job, out / relative

    def text(name: str, default: str) -> str:
        return artifacts[name].text if name in artifacts else default

    result = copy.deepcopy(job.result or {})  # built once, at the job's end; never mutate the ORM's value
    # As upstream writes them: the run's folder name, and the folder's path as the logs
    # root was given (relative when --out is), which upstream's eval uses to find the files.
    result["run_name"] = relative.parts[0]
    result["log_dir"] = str(out / relative)
    write_json(directory / "result.json", result)
    runs = {run.agent_id: run for run in item.agent_runs}

    def trajectory(agent_id: str, fid: int | None) -> dict:
        messages = json.loads(text(f"{agent_id}_traj.json", "[]"))
        return trajectory_json(job, runs.get(agent_id), agent_id, fid, messages)

    if not setting_row(job.setting).multi_agent:
        write_atomic(directory / "solo.patch", text("solo.patch", ""))
        write_json(directory / "solo_traj.json", trajectory("solo", None))
    else:
        for agent in assignments(job.setting, job.features):  # files named by feature id
            fid = agent.feature_ids[0]
            write_atomic(directory / f"agent{fid}.patch", text(f"{agent.agent_id}.patch", ""))
            write_json(directory / f"agent{fid}_traj.json", trajectory(agent.agent_id, fid))
        write_atomic(directory / "conversation.json", text("conversation.json", "[]"))
    if "eval.json" in artifacts:
        write_atomic(directory / "eval.json", text("eval.json", ""))
    for name, artifact in artifacts.items():  # an upstream adapter's own files, where it wrote them
        if name.startswith(LOG_DIR_ARTIFACT):
            write_atomic(directory / name.removeprefix(LOG_DIR_ARTIFACT), artifact.text)


def trajectory_json(job: Job, agent_run: AgentRun | None, agent_id: str, feature_id: int | None,
                    messages: list) -> dict:
    """Upstream's trajectory file (reference 5.4) around the stored message list."""
    head: dict = {"repo": job.repo, "task_id": job.task_id}
    if feature_id is None:
        head["features"] = list(job.features)
    else:
        head["feature_id"] = feature_id
    return {
        **head,
        "agent_id": agent_id,
        **team_role(setting_row(job.setting).team, agent_id),
        "model": model_label(job.run),
        "status": agent_run.status if agent_run else "Error",
        "cost": (agent_run.cost_usd or 0.0) if agent_run else 0.0,
        "steps": agent_run.steps if agent_run else 0,
        "messages": messages if isinstance(messages, list) else messages.get("messages", []),
    }


def _manifest_entry(item: FinishedJob, run_name: str) -> dict:
    job, evaluation = item.job, item.evaluation
    return {
        "id": job.id, "repo": job.repo, "task_id": job.task_id, "features": job.features,
        "setting": job.setting, "state": job.state, "attempts": job.attempts,
        "eval_status": job.eval_status, "both_passed": job.both_passed,
        "merge_status": job.merge_status, "cost_usd": job.cost_usd, "error": job.error,
        "evaluation": None if evaluation is None else {
            "number": evaluation.number, "test_filter": evaluation.test_filter,
            "started_at": evaluation.started_at.isoformat() if evaluation.started_at else None,
            "finished_at": evaluation.finished_at.isoformat() if evaluation.finished_at else None,
            "duration_seconds": evaluation.duration_s,
        },
        "dir": str(job_dir(run_name, job)) if job.state == JobState.done else None,
    }

