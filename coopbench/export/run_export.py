"""Export a run from the store: ``results-manifest.json`` and CooperBench-layout files.

Layout (reference 5, with our run name carrying the setting): per setting, upstream's
run-level files in ``<out>/<run>-<setting>/`` (see ``upstream_files``), and per job
``<out>/<run>-<setting>/<solo|coop>/<repo>/<task_id>/f<a>_f<b>/``; repeats past the first
of ``enqueue --repeats`` in ``<out>/<run>-<setting>-r<k>/``. Every file is written
to a temporary name and renamed, and the manifest is written last, so an interrupted
export never leaves a file half-written.
"""

import logging
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from coopbench.dataset.tasks import group_dir_name
from coopbench.errors import ConfigError
from coopbench.export.files import write_files, write_json
from coopbench.export.job_files import job_files
from coopbench.export.manifest import (
    MANIFEST_VERSION,
    FinishedJob,
    coordination_gap,
    group_by_repeat,
    group_by_setting,
    paired_differences,
    setting_summary,
)
from coopbench.export.upstream_files import run_files, run_folder
from coopbench.job.setting import setting_row
from coopbench.store import Artifact, Attempt, Evaluation, Job, JobState, Run, Store, utcnow
from coopbench.store.results import evaluation_artifact_name

log = logging.getLogger(__name__)

MANIFEST_NAME = "results-manifest.json"
ARTIFACT_BATCH = 500  # jobs whose files are read at once: few queries, bounded memory


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


def export_run(store: Store, run_name: str, out: Path, atif: bool = True) -> dict:
    """Write the run's files and manifest into ``out``; ``atif``: the trajectories in ATIF too."""
    with store.session() as session:
        run, finished = load_finished(session, store, run_name)
        exported = [item for item in finished if item.evaluation is not None]
        # Written as they are read, on this thread: a thread of its own for the writes was
        # slower (measured on 2 cores), the GIL being the cost.
        for item, artifacts in current_artifacts(session, exported):
            _write_job(out, run_name, item, artifacts, atif)
    by_setting = group_by_setting(finished)
    for setting, items in by_setting.items():
        for repeat, repeat_items in group_by_repeat(items).items():
            for name, body in run_files(run, setting, repeat_items, repeat).items():
                write_json(out / run_folder(run_name, setting, repeat) / name, body)
    manifest = {
        "manifest_version": MANIFEST_VERSION,
        "exported_at": utcnow().isoformat(),
        "run": run_block(run),
        "settings": {s: setting_summary(items) for s, items in by_setting.items()},
    }
    differences = paired_differences(by_setting)
    gap = coordination_gap(differences)
    if gap:  # only when solo and a coop setting share done pairs
        manifest["coordination_gap"] = gap
    if differences:  # only when two settings share done pairs
        manifest["paired_differences"] = differences
    manifest["jobs"] = [_manifest_entry(item, run_name) for item in finished]
    write_json(out / MANIFEST_NAME, manifest)
    return manifest


def job_dir(run_name: str, job: Job) -> Path:
    folder = run_folder(run_name, job.setting, job.repeat or 1)  # None: a job not yet flushed
    return Path(folder, setting_row(job.setting).layout_name, job.repo, str(job.task_id),
                group_dir_name(job.features))  # one Path, not one per part: called per job


def current_artifacts(session, exported: list[FinishedJob]
                       ) -> Iterator[tuple[FinishedJob, dict[str, bytes]]]:
    """Each exported job (each has an evaluation) with its current files, as stored
    (gzip), by name: its agents' outputs and its current evaluation's (``eval/n/`` names
    without the prefix; they win a clash).

    One query per ``ARTIFACT_BATCH`` jobs, by job id, of bare columns (no ORM objects); the
    rows of other attempts and evaluations are dropped here. Selecting by job id alone keeps
    the plan simple everywhere: joining on the current attempt or evaluation instead took
    PostgreSQL 5 s on a store not yet analysed (a bitmap scan of every agent file per job)."""
    for start in range(0, len(exported), ARTIFACT_BATCH):
        batch = {item.job.id: item for item in exported[start:start + ARTIFACT_BATCH]}
        agents: dict[str, dict[str, bytes]] = {job_id: {} for job_id in batch}
        evaluation: dict[str, dict[str, bytes]] = {job_id: {} for job_id in batch}
        rows = session.execute(
            select(Artifact.job_id, Artifact.attempt_id, Artifact.evaluation_id, Artifact.name,
                   Artifact.data_gz).where(Artifact.job_id.in_(batch)))
        # Per job, what its current rows carry, read once: tens of thousands of rows follow.
        current = {job_id: (item.job.agents_attempt_id, item.evaluation.id,
                            evaluation_artifact_name(item.evaluation.number, ""))
                   for job_id, item in batch.items()}
        for job_id, attempt_id, evaluation_id, name, data_gz in rows:
            agents_attempt_id, current_evaluation_id, prefix = current[job_id]
            if evaluation_id is None and attempt_id == agents_attempt_id:
                agents[job_id][name] = data_gz
            elif evaluation_id is not None and evaluation_id == current_evaluation_id:
                evaluation[job_id][name.removeprefix(prefix)] = data_gz
        for job_id, item in batch.items():
            yield item, agents[job_id] | evaluation[job_id]


def _write_job(out: Path, run_name: str, item: FinishedJob, artifacts: dict[str, bytes],
               atif: bool) -> None:
    relative = job_dir(run_name, item.job)
    directory = out / relative
    write_files(directory, job_files(item, relative.parts[0], directory, artifacts, atif))


def _manifest_entry(item: FinishedJob, run_name: str) -> dict:
    job, evaluation = item.job, item.evaluation
    return {
        "id": job.id, "repo": job.repo, "task_id": job.task_id, "features": job.features,
        "setting": job.setting, "repeat": job.repeat, "state": job.state, "attempts": job.attempts,
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

