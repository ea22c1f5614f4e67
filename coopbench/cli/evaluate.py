"""``coopbench evaluate --run NAME``: evaluate a run's finished agents again, as Celery jobs."""

from typing import Annotated

import typer

from coopbench.cli.common import console, settings_from
from coopbench.evaluation.patches import TestFilter


def evaluate(
    ctx: typer.Context,
    run: Annotated[str, typer.Option("--run", help="Run name.")],
    test_filter: Annotated[TestFilter | None, typer.Option(
        help="Test-file filter for these evaluations (default: the run's).")] = None,
    force: Annotated[bool, typer.Option(
        help="Evaluate again pairs already evaluated with this filter.")] = False,
) -> None:
    """Queue one evaluation per pair whose agents finished; agents are never re-run.

    Without --force, only pairs with no evaluation yet, a failed one, or one made with
    another test filter are evaluated. The newest finished evaluation is the one exported.
    """
    from scheduler.evaluate import request_evaluations  # Celery is imported only here

    report = request_evaluations(settings_from(ctx), run,
                                 test_filter.value if test_filter else None, force)
    console.out(
        f"run {report.run}: {report.requested} evaluations queued (filter {report.test_filter}), "
        f"{report.pending} already pending, {report.up_to_date} up to date, "
        f"{report.without_agents} without finished agents; {report.published} published"
    )


def register(app: typer.Typer) -> None:
    app.command("evaluate")(evaluate)
