"""``coopbench demo``: the whole path on the embedded demo dataset, on this one host.

Builds the demo task images, starts Redis if none answers, starts local workers, enqueues
every demo pair in all three settings with the oracle agent, shows progress, exports the
manifest and prints the per-setting table.
"""

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from coopbench.cli.common import console, settings_from
from coopbench.dataset.images import image_name
from coopbench.dataset.images.build import build_task_image
from coopbench.dataset.tasks import demo_dataset_path, discover_pairs, load_tasks
from coopbench.errors import InfraError
from coopbench.export.run_export import MANIFEST_NAME, export_run
from coopbench.export.summary_table import settings_table
from coopbench.job.setting import AGENT_SETTINGS
from coopbench.ops.localcluster import LocalWorkers, start_local_redis, stop_process
from coopbench.ops.progress import wait_for_run
from coopbench.sandbox.containers import docker_client
from coopbench.store import Store

DEMO_IMAGE_TEMPLATE = "coopbench-demo-{slug}:task{task_id}"
DEMO_TIMEOUT_S = 900


def demo(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option(help="Where the manifest, files and logs go.")] = Path("coopbench-demo"),
    workers: Annotated[int, typer.Option(min=1, help="Local worker processes.")] = 2,
    concurrency: Annotated[int, typer.Option(min=1, help="Jobs per worker at once.")] = 2,
    base_image: Annotated[str | None, typer.Option(
        help="BASE_IMAGE for the demo task images (env COOPBENCH_BASE_IMAGE).")] = None,
    run: Annotated[str | None, typer.Option(help="Run name (default demo-<time>).")] = None,
) -> None:
    """Run the embedded demo dataset end to end on this host with the oracle agent."""
    from scheduler.enqueue import RunRequest, enqueue_run  # Celery is imported only here

    settings = settings_from(ctx)
    run_name = run or datetime.now().strftime("demo-%Y%m%d-%H%M%S")
    dataset = demo_dataset_path()
    tasks = load_tasks(dataset)
    logs = out / "logs"
    logs.mkdir(parents=True, exist_ok=True)

    client = docker_client()
    for task in tasks:
        tag = image_name(DEMO_IMAGE_TEMPLATE, task.repo, task.task_id)
        console.print(f"building {tag}")
        build_task_image(client, task, tag, base_image or settings.base_image)

    redis_process = start_local_redis(settings.broker_url, logs)
    try:
        with LocalWorkers(settings, workers, concurrency, logs, name_prefix="demo") as local:
            request = RunRequest(
                name=run_name, dataset=str(dataset), pairs=discover_pairs(dataset),
                tasks={(t.repo, t.task_id): t for t in tasks}, settings=list(AGENT_SETTINGS),
                agent="oracle", model=None, step_limit=1, cost_limit_usd=0.0,
                image_template=DEMO_IMAGE_TEMPLATE,
            )
            report = enqueue_run(settings, request)
            console.print(f"enqueued {report.jobs_total} jobs of run {run_name} "
                          f"on {workers} workers; logs in {logs}")
            store = Store.open(settings)
            counts = wait_for_run(store, run_name, console, DEMO_TIMEOUT_S, local.alive)
            if not local.alive():
                raise InfraError(f"the local workers exited early; see {logs}/worker-*.log")
    finally:
        stop_process(redis_process)
    manifest = export_run(store, run_name, out)
    console.print(settings_table(manifest))
    console.print(f"jobs: {dict(counts)}; manifest: {out / MANIFEST_NAME}")


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
