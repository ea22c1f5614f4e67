"""``coopbench tasks``: show the pairs a selection would run, without running anything."""

import json
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from coopbench.cli.common import console
from coopbench.cli.options import (
    DEFAULT_DATASET,
    DatasetOption,
    FeaturesOption,
    RepoOption,
    SubsetOption,
    TaskOption,
    select_pairs,
)


def register(app: typer.Typer) -> None:
    app.command("tasks")(tasks_command)


def tasks_command(
    dataset: DatasetOption = DEFAULT_DATASET,
    subset: SubsetOption = None,
    repo: RepoOption = None,
    task: TaskOption = None,
    features: FeaturesOption = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print only a JSON list of {repo, task_id, features}.")
    ] = False,
) -> None:
    """List the pairs (repo, task, two features) that the selection would run."""
    pairs = select_pairs(dataset, subset, repo, task, features)
    if as_json:
        # Upstream's discovery records, on stdout alone, so that scripts can parse them.
        typer.echo(json.dumps([pair.as_dict() for pair in pairs]))
        return
    table = Table("repo", "task", "features")
    for pair in pairs:
        table.add_row(escape(pair.repo), str(pair.task_id), ",".join(map(str, pair.features)))
    n_tasks = len({(pair.repo, pair.task_id) for pair in pairs})
    n_repos = len({pair.repo for pair in pairs})
    console.print(table)
    console.print(f"{len(pairs)} pairs ({n_tasks} tasks, {n_repos} repos)")
