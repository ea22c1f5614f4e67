"""``coopbench status --run NAME [--watch] [--json]``: a run as the store sees it."""

import json
import time
from typing import Annotated

import typer
from rich.console import Group
from rich.live import Live
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from coopbench.cli.common import ON_TERMINAL, console, settings_from
from coopbench.ops.status import run_status
from coopbench.store import Store
from coopbench.store.states import FINISHED_STATES

STATE_COLOURS = {"done": "green", "running": "cyan", "queued": "white", "failed": "red",
                 "failed_infra": "magenta", "cancelled": "yellow"}


def status(
    ctx: typer.Context,
    run: Annotated[str, typer.Option("--run", help="Run name.")],
    watch: Annotated[bool, typer.Option("--watch", help="Refresh until every job is finished.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object, for scripts.")] = False,
    interval: Annotated[float, typer.Option(min=0.2, help="Seconds between refreshes.")] = 2.0,
) -> None:
    """Jobs per state and setting, running and stuck jobs, errors, cost, ETA and workers."""
    settings = settings_from(ctx)
    store = Store.open_existing(settings)

    def current() -> dict:
        return run_status(store, run, settings.sweep_interval_s)

    if as_json:
        console.out(json.dumps(current(), indent=2))
        return
    if not watch:
        console.print(render(current(), whole=not ON_TERMINAL))
        return
    state = current()
    with Live(render(state), console=console, refresh_per_second=4) as live:
        while state["jobs"]["finished"] != state["jobs"]["total"]:
            time.sleep(interval)
            state = current()
            live.update(render(state))


def render(state: dict, whole: bool = False) -> Group:
    """The view of a ``run_status`` state. Values from the store are shown as text, never
    read as markup; ``whole`` (off a terminal) shows ids and errors in full, not cut to a glance."""
    def cell(value: str | None, glance: int | None = None) -> str:
        value = value or ""
        return escape(value if whole or glance is None else value[:glance])

    jobs = state["jobs"]
    title = f"run {cell(state['run'])}  agent {cell(state['agent'])}" + (
        f"  model {cell(state['model'])}" if state["model"] else "")
    if state["cancelled_at"]:
        title += "  [yellow]cancelled[/]"
    bars = Progress(TextColumn("{task.description:>12}"), BarColumn(), MofNCompleteColumn(),
                    TextColumn("{task.fields[states]}"), console=console)
    bars.add_task("all", total=jobs["total"], completed=jobs["finished"],
                  states=_states(jobs))
    for setting, counts in state["by_setting"].items():
        done = sum(n for s, n in counts.items() if s in FINISHED_STATES)
        bars.add_task(setting, total=sum(counts.values()), completed=done, states=_states(counts))
    eta = state["eta_seconds"]
    summary = (f"cost so far ${state['cost']['spent_usd']:.2f}"
               + (f" ({state['cost']['unknown_jobs']} jobs unpriced)" if state["cost"]["unknown_jobs"] else "")
               + (f" of a ${state['cost_cap_usd']:.2f} cap" if state["cost_cap_usd"] else "")
               + f"   attempts {state['attempts']['total']}   infra errors {state['infra_errors']['total']}"
               + f"   evaluations pending {state['evaluations_pending']}"
               + (f"   waited for the provider {_duration(state['provider_wait_seconds'])}"
                  if state["provider_wait_seconds"] else "")
               + ("   ETA " + (_duration(eta) if eta is not None else "unknown")))
    parts = [title, bars, summary]
    if state["running"]:
        table = Table("job", "setting", "pair", "host", "attempt", "age", "heartbeat",
                      title="running", title_justify="left")
        for job in state["running"]:
            beat = job["heartbeat_seconds_ago"]
            table.add_row(cell(job["id"], 8), job["setting"], cell(job["pair"]), cell(job["host"] or "?"),
                          str(job["attempt"]), _duration(job["age_seconds"]),
                          ("[red]stuck[/] " if job["stuck"] else "")
                          + (f"{beat:.0f} s ago" if beat is not None else "-"))
        parts.append(table)
    if state["infra_errors"]["recent"]:
        errors = Table("job", "attempt", "host", "error", title="recent infrastructure errors",
                       title_justify="left")
        for error in state["infra_errors"]["recent"]:
            errors.add_row(cell(error["job"], 8), str(error["attempt"]), cell(error["host"]),
                           cell(error["error"].splitlines()[0], 100) if error["error"] else "")
        parts.append(errors)
    if state["pulls"]:
        pulls = Table("host", "image", "since", "progress", title="pulling images",
                      title_justify="left")
        for pull in state["pulls"]:
            pulls.add_row(cell(pull["host"]), cell(pull["image"]), pull["since"] or "-", cell(pull["progress"]))
        parts.append(pulls)
    if state["workers"]:
        workers = Table("worker", "host", "jobs at once", "last seen", title="workers",
                        title_justify="left")
        for worker in state["workers"]:
            workers.add_row(cell(worker["name"]), cell(worker["host"]), str(worker["concurrency"]),
                            worker["last_seen"] + ("" if worker["alive"] else " [red](silent)[/]"))
        parts.append(workers)
    return Group(*parts)


def _states(counts: dict) -> str:
    return " ".join(f"[{STATE_COLOURS.get(s, 'white')}]{s}={n}[/]" for s, n in sorted(counts.items())
                    if n and s not in ("total", "finished"))


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = int(seconds)
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m" if seconds >= 3600 else (
        f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s")


def register(app: typer.Typer) -> None:
    app.command("status")(status)
