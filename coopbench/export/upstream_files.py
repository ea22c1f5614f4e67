"""Upstream's run-level files for one ``<out>/<run>-<setting>[-r<k>]/`` directory: ``config.json``,
``summary.json`` and ``eval_summary.json`` (reference 5.1, 5.5, 5.9), with upstream's field
names and types.

That directory is upstream's ``<logs>/<run_name>``, so its run name is ``<run>-<setting>``.
Times are the store's naive UTC times as ISO strings (upstream writes naive local time);
``eval_summary.json``'s ``evaluated_at`` is the latest finish time of the evaluations
exported (each ``eval.json`` carries its own).
"""

from coopbench.evaluation.deviations import run_deviations
from coopbench.export.manifest import FinishedJob, pair_key
from coopbench.job.outcome import JobOutcome, job_outcome, model_label
from coopbench.job.setting import setting_row
from coopbench.store import JobState, Run
from coopbench.store.states import FINISHED_STATES


def run_folder(run_name: str, setting: str, repeat: int = 1) -> str:
    """Upstream's ``<logs>/<run_name>`` of one setting; each repeat past the first is an
    upstream run of its own (``-r<k>``), so upstream's tools read any one repeat as a run."""
    return f"{run_name}-{setting}" if repeat == 1 else f"{run_name}-{setting}-r{repeat}"


def run_files(run: Run, setting: str, jobs: list[FinishedJob], repeat: int = 1) -> dict[str, dict]:
    """The files of one setting's repeat, by name. A file upstream would not have written is
    left out: ``summary.json`` until a job of it has finished, ``eval_summary.json`` until a
    pair has been evaluated (upstream writes none when nothing was evaluated)."""
    name = run_folder(run.name, setting, repeat)
    files = {"config.json": config_json(run, name, setting, jobs)}
    if any(j.job.state in FINISHED_STATES for j in jobs):
        files["summary.json"] = summary_json(name, jobs)
    if any(eval_outcome(j) is not None for j in jobs):
        files["eval_summary.json"] = eval_summary_json(name, jobs)
    return files


def config_json(run: Run, name: str, setting: str, jobs: list[FinishedJob]) -> dict:
    return {
        "run_name": name,
        "agent_framework": run.agent,
        "model": model_label(run),
        "setting": setting_row(setting).layout_name,  # upstream knows solo and coop only
        # A run has no concurrency of its own here: workers come and go. This is the number
        # of distinct worker processes ("<celery node>:<pid>", one per prefork child, so one
        # per concurrency slot) that ran any attempt of the setting's jobs.
        "concurrency": len({a.worker for j in jobs for a in j.job.attempt_rows}),
        "total_tasks": len(jobs),
        "started_at": run.created_at.isoformat(),
        # coopbench's: every deliberate difference from upstream this run made (none: [])
        "deviations": run_deviations(run.agent, run.step_limit, run.cost_limit_usd, run.config),
        # coopbench's: the digest each task image ran as, the same on every host
        "images": run.image_digests,
    }


def summary_json(name: str, jobs: list[FinishedJob]) -> dict:
    # Queued and running jobs have no outcome yet: they are left out of ``results`` and of
    # every count except ``total_tasks`` (upstream writes this file only once every pair of
    # an invocation has one).
    finished = _by_pair([j for j in jobs if j.job.state in FINISHED_STATES])
    done = [j for j in finished if j.job.state == JobState.done]
    outcomes = [eval_outcome(j) for j in done]
    passed, failed, errors = (outcomes.count(s) for s in ("pass", "fail", "error"))
    pass_rate = round(passed / max(passed + failed, 1), 4)  # upstream: errors excluded
    started = [j.job.started_at for j in finished if j.job.started_at]
    ended = [j.job.finished_at for j in finished if j.job.finished_at]
    return {
        "run_name": name,
        "completed_at": max(ended).isoformat() if ended else None,
        "pass_rate": pass_rate,
        "total_tasks": len(jobs),
        "completed": len(done),
        "skipped": 0,  # every export covers the whole run: nothing is skipped
        "failed": len(finished) - len(done),
        "total_cost": round(sum((j.job.cost_usd or 0.0 for j in done), 0.0), 6),
        "total_time_seconds": (
            round((max(ended) - min(started)).total_seconds(), 3) if started and ended else 0.0
        ),
        # Always every finished pair, a single one too (upstream writes [] for a single pair).
        "results": [_summary_result(j) for j in finished],
        "eval": {
            "total_evaluated": passed + failed + errors, "passed": passed, "failed": failed,
            "errors": errors, "skipped": 0, "pass_rate": pass_rate,
        },
    }


def eval_summary_json(name: str, jobs: list[FinishedJob]) -> dict:
    # Every evaluated pair of the run, not only those of the latest evaluation (upstream
    # covers only the pairs its last ``eval`` invocation evaluated, defect 11): each job is
    # evaluated exactly once, as part of the job, so the run's evaluations are all current.
    evaluated = _by_pair([j for j in jobs if eval_outcome(j) is not None])
    outcomes = [eval_outcome(j) for j in evaluated]
    passed, failed, errors = (outcomes.count(s) for s in ("pass", "fail", "error"))
    times = [j.evaluated_at or j.job.finished_at for j in evaluated]
    times = [t for t in times if t is not None]
    return {
        "run_name": name,
        "evaluated_at": max(times).isoformat() if times else None,
        "total_runs": len(evaluated),
        "passed": passed,
        "failed": failed,
        "errors": errors,
        "skipped": 0,
        "pass_rate": round(passed / max(passed + failed, 1), 4),
        "results": [{"run": pair_label(j), "status": eval_outcome(j)} for j in evaluated],
    }


def eval_outcome(item: FinishedJob) -> str | None:
    """upstream's per-pair evaluation result: pass | fail | error, None if not evaluated."""
    return {JobOutcome.passed: "pass", JobOutcome.failed: "fail",
            JobOutcome.eval_error: "error"}.get(job_outcome(item.job))


def pair_label(item: FinishedJob) -> str:
    """``<repo>/<task_id>/<a>,<b>`` with the features sorted, as upstream's discovery gives them."""
    repo, task_id, features = pair_key(item.job)
    return f"{repo}/{task_id}/{','.join(map(str, features))}"


def _by_pair(jobs: list[FinishedJob]) -> list[FinishedJob]:
    """Pair order (upstream lists pairs in completion order, which no two runs share)."""
    return sorted(jobs, key=lambda j: pair_key(j.job))


def _summary_result(item: FinishedJob) -> dict:
    job = item.job
    if job.state == JobState.done:
        return {"task": pair_label(item), "status": "done", "cost": job.cost_usd or 0.0,
                "eval": eval_outcome(item)}
    # failed (configuration) and failed_infra: upstream's "error" (the pair raised).
    return {"task": pair_label(item), "status": "error", "cost": 0.0,
            "error": job.error or job.state, "eval": None}
