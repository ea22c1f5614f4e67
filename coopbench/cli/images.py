"""``coopbench images build|pull|list``: task images on this host, or on every worker host."""

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from coopbench.cli.common import ON_TERMINAL, console, settings_from
from coopbench.cli.options import DEFAULT_DATASET, DatasetOption, RepoOption, TaskOption
from coopbench.config import Settings
from coopbench.dataset.images import image_name
from coopbench.dataset.images.build import build_task_image
from coopbench.dataset.images.pins import run_pins
from coopbench.dataset.tasks import load_tasks
from coopbench.errors import ConfigError
from coopbench.sandbox.containers import docker_client
from coopbench.store import Store

images_app = typer.Typer(help="Task images.", no_args_is_help=True)

ImageTemplateOption = Annotated[str | None, typer.Option(
    help="Image name template (env COOPBENCH_IMAGE_TEMPLATE).")]
RunOption = Annotated[str | None, typer.Option(
    "--run", help="The images of this run's jobs (its pinned digests, its pull policy).")]
JsonOption = Annotated[bool, typer.Option("--json", help="One JSON object, for scripts.")]


@images_app.command("build")
def build(
    ctx: typer.Context,
    dataset: DatasetOption = DEFAULT_DATASET,
    repo: RepoOption = None,
    task: TaskOption = None,
    image_template: ImageTemplateOption = None,
    base_image: Annotated[str | None, typer.Option(
        help="BASE_IMAGE build argument (env COOPBENCH_BASE_IMAGE).")] = None,
) -> None:
    """Build every selected task's image from its Dockerfile, on this host."""
    settings = settings_from(ctx)
    client = docker_client()
    for task_ in load_tasks(dataset, repo, task):
        tag = image_name(image_template or settings.image_template, task_.repo, task_.task_id)
        build_task_image(client, task_, tag, base_image or settings.base_image)
        console.print(f"built {tag}")


@images_app.command("pull")
def pull(
    ctx: typer.Context,
    run: RunOption = None,
    dataset: Annotated[Path | None, typer.Option(
        "--dataset", metavar="DIR", help="Or the images of a dataset's tasks.")] = None,
    repo: RepoOption = None,
    task: TaskOption = None,
    image_template: ImageTemplateOption = None,
    parallel: Annotated[int, typer.Option(min=1, help="Pulls at once per host.")] = 3,
    timeout: Annotated[float, typer.Option(
        min=1, help="Seconds to wait for every host's report.")] = 3600.0,
    as_json: JsonOption = False,
) -> None:
    """Make every live worker host pull the images now (one worker per Docker engine), and
    print per host and image: pulled, present or failed (why), with sizes."""
    from scheduler.images import prefetch  # Celery is imported only here

    settings = settings_from(ctx)
    images = _selected_images(settings, run, dataset, repo, task, image_template)
    outcome = prefetch(settings, images, run, parallel, timeout)
    if as_json:
        console.out(json.dumps({"images": images, "hosts": outcome.reports,
                                "shared_engine": outcome.shared, "unfinished": outcome.unfinished,
                                "errors": outcome.errors, "ok": outcome.ok}, indent=2))
    else:
        table = Table("host", "image", "outcome", "size", "digest or error")
        for host, reports in sorted(outcome.reports.items()):
            for image in images:
                report = reports.get(image, {"status": "unfinished"})
                table.add_row(escape(host), escape(image), report["status"], _size(report.get("size_bytes")),
                              escape(report.get("digest") or report.get("error", "")))
        console.print(table)
        for host, owner in sorted(outcome.shared.items()):
            console.print(escape(f"{host}: shares its Docker engine with {owner}, which pulled for it"))
        for host in outcome.unfinished:
            console.print(f"[red]{escape(host)}: still pulling after {timeout:g} s[/]")
        for host, error in sorted(outcome.errors.items()):
            console.print(f"[red]{escape(f'{host}: could not take part: {error}')}[/]")
    if not outcome.ok:
        raise typer.Exit(1)


@images_app.command("list")
def list_images(
    ctx: typer.Context,
    run: Annotated[str, typer.Option("--run", help="The images of this run's jobs.")],
    as_json: JsonOption = False,
) -> None:
    """Per image of a run: the digest the run pinned, and which live hosts have it."""
    from scheduler.images import inventory, run_images

    settings = settings_from(ctx)
    store = Store.open_existing(settings)
    images = run_images(store, run)
    pins = run_pins(store, run)
    hosts = inventory(settings, images)
    rows = []
    for image in images:
        pin = pins.get(image)
        have = {host: (reply.get("images") or {}).get(image) for host, reply in hosts.items()
                if "error" not in reply}
        rows.append({
            "image": image, "pinned": pin.digest if pin else None,
            "hosts": {host: None if local is None else {
                **local, "pinned_bytes": pin is None or local["id"] == pin.image_id}
                for host, local in sorted(have.items())}})
    if as_json:
        console.out(json.dumps({"run": run, "images": rows, "errors": {
            host: reply["error"] for host, reply in hosts.items() if "error" in reply}}, indent=2))
        return
    table = Table("image", "pinned digest", *map(escape, sorted(hosts)))
    for row in rows:
        table.add_row(escape(row["image"]), row["pinned"] or "(not yet)", *[
            _presence(row["hosts"].get(host), whole=not ON_TERMINAL) for host in sorted(hosts)])
    console.print(table)


def _selected_images(settings: Settings, run: str | None, dataset: Path | None,
                     repo: str | None, task: int | None, template: str | None) -> list[str]:
    from scheduler.images import run_images

    if (run is None) == (dataset is None):
        raise ConfigError("give --run NAME (a run's images) or --dataset DIR (a dataset's), "
                          "one of the two")
    if run is not None:
        return run_images(Store.open_existing(settings), run)
    return sorted({image_name(template or settings.image_template, t.repo, t.task_id)
                   for t in load_tasks(dataset, repo, task)})


def _presence(local: dict | None, whole: bool) -> str:
    """Size and digest of a host's copy; on a terminal the digest's tail, enough to compare."""
    if local is None:
        return "-"
    mark = "" if local["pinned_bytes"] else " [red](other bytes)[/]"
    digest = local["digest"] if whole else local["digest"][-19:]
    return f"{_size(local['size_bytes'])} {escape(digest)}{mark}"


def _size(size: int | None) -> str:
    return "" if size is None else f"{size / 2**20:.0f} MiB"


def register(app: typer.Typer) -> None:
    app.add_typer(images_app, name="images")
