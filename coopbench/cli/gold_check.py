"""``coopbench gold-check``: which gold patch pairs conflict when merged (reference 6.9)."""

import hashlib
import json
from pathlib import Path
from typing import Annotated

import typer

from coopbench.cli.common import console, settings_from
from coopbench.cli.options import (
    DEFAULT_DATASET,
    DatasetOption,
    FeaturesOption,
    RepoOption,
    SubsetOption,
    TaskOption,
    select_pairs,
)
from coopbench.dataset.tasks import load_tasks
from coopbench.errors import ConfigError, InfraError
from coopbench.evaluation.patches import TestFilter
from coopbench.export.files import write_json
from coopbench.job.gold import gold_report
from coopbench.job.setting import Setting
from coopbench.ops.localcluster import LocalWorkers
from coopbench.ops.progress import wait_for_run
from coopbench.store import Store

REPORT_NAME = "gold_conflict_report.json"


def gold_check(
    ctx: typer.Context,
    dataset: DatasetOption = DEFAULT_DATASET,
    subset: SubsetOption = None,
    repo: RepoOption = None,
    task: TaskOption = None,
    features: FeaturesOption = None,
    out: Annotated[Path, typer.Option(help="Report file to write.")] = Path(REPORT_NAME),
    run: Annotated[str | None, typer.Option(
        help="Run name (default gold-<hash of the selection>: the same command resumes).")] = None,
    image_template: Annotated[str | None, typer.Option(
        help="Task image name (env COOPBENCH_IMAGE_TEMPLATE).")] = None,
    test_filter: Annotated[TestFilter, typer.Option(
        help="Test files dropped from the gold patches first, as in evaluation.")] = TestFilter.upstream,
    local_workers: Annotated[int, typer.Option(
        min=0, help="Start this many worker processes here (0: use the cluster's workers).")] = 0,
    timeout: Annotated[float, typer.Option(min=1, help="Seconds to wait for the jobs.")] = 3600,
) -> None:
    """Merge the two gold patches of every selected pair, as distributed jobs; write the report.

    No agents, no tests: agent1's branch gets the lower feature's gold patch, agent2's the
    other, and agent1 is merged into agent2. Interrupted, the same command resumes.
    """
    from scheduler.enqueue import RunRequest, enqueue_run  # Celery is imported only here

    settings = settings_from(ctx)
    pairs = select_pairs(dataset, subset, repo, task, features)
    if not pairs:
        raise ConfigError("the selection has no pairs; check --subset/--repo/--task/--features")
    selection = json.dumps([str(dataset.resolve()), [(p.repo, p.task_id, p.features) for p in pairs],
                            test_filter.value])
    run_name = run or f"gold-{hashlib.sha1(selection.encode()).hexdigest()[:10]}"
    request = RunRequest(
        name=run_name, dataset=str(dataset.resolve()), pairs=pairs,
        tasks={(t.repo, t.task_id): t for t in load_tasks(dataset, repo, task)},
        settings=[Setting.gold], agent="gold", model=None, step_limit=0, cost_limit_usd=0.0,
        image_template=image_template or settings.image_template, test_filter=test_filter.value,
    )
    report = enqueue_run(settings, request)
    console.out(f"gold check {run_name}: {report.jobs_total} pairs "
                f"({report.already_finished} already checked), {report.published} published")
    store = Store.open(settings)
    if local_workers:
        logs = out.parent / f"{run_name}-logs"
        with LocalWorkers(settings, local_workers, 2, logs, name_prefix="gold") as local:
            counts = wait_for_run(store, run_name, console, timeout, local.alive)
    else:
        counts = wait_for_run(store, run_name, console, timeout)
    unfinished = counts.get("queued", 0) + counts.get("running", 0)
    if unfinished:
        raise InfraError(f"{unfinished} of {sum(counts.values())} pairs are not checked yet "
                         f"(are workers running on queue {settings.queue!r}?); run the same "
                         "command again to resume; no report was written")
    body = gold_report(store, run_name)
    write_json(out, body)
    summary = body["summary"]
    console.out(f"{summary['total_pairs']} pairs: {summary['conflicts']} conflict, "
                f"{summary['clean_merges']} clean, {summary['errors']} errors "
                f"({summary['conflict_rate']}); report: {out}")


def register(app: typer.Typer) -> None:
    app.command("gold-check")(gold_check)
