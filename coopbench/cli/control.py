"""``coopbench cancel`` and ``coopbench retry``: stop a run, or put its failures back."""

from typing import Annotated

import typer

from coopbench.cli.common import console, settings_from


def cancel(
    ctx: typer.Context,
    run: Annotated[str, typer.Option("--run", help="Run name.")],
) -> None:
    """Stop a run: queued jobs are not started, running ones stop their containers within a
    third of the lease. `coopbench retry` resumes it."""
    from scheduler.control import cancel_run  # Celery is imported only here

    report = cancel_run(settings_from(ctx), run)
    console.out(f"run {report.run}: {report.jobs} jobs and {report.evaluations} evaluations cancelled")


def retry(
    ctx: typer.Context,
    run: Annotated[str, typer.Option("--run", help="Run name.")],
    failed_infra: Annotated[bool, typer.Option(
        "--failed-infra", help="Only jobs that failed for infrastructure reasons.")] = False,
    cost_cap: Annotated[float | None, typer.Option(
        min=0, help="New cost cap for the run, USD (0 lifts it).")] = None,
) -> None:
    """Queue the run's failed, failed_infra and cancelled jobs again (earlier attempts are
    kept; a job whose agents finished is only evaluated again)."""
    from scheduler.control import retry_run  # Celery is imported only here

    report = retry_run(settings_from(ctx), run, failed_infra, cost_cap)
    console.out(f"run {report.run}: {report.jobs} jobs queued again, {report.published} published")


def register(app: typer.Typer) -> None:
    app.command("cancel")(cancel)
    app.command("retry")(retry)
