"""The dataset selection options, shared by every command that picks pairs.

Same flags and meaning as upstream's ``cooperbench run`` (reference section 8), long forms
only, except that ``--dataset`` is upstream's ``--dataset-dir`` and ``--task 0`` works. A
command declares them as parameters, for example ``dataset: DatasetOption = DEFAULT_DATASET``,
and turns them into pairs with ``select_pairs``.
"""

from pathlib import Path
from typing import Annotated

import typer

from coopbench.dataset.tasks import Pair, discover_pairs, parse_features

DEFAULT_DATASET = Path("dataset")  # where upstream's `cooperbench prepare` puts it

DatasetOption = Annotated[
    Path,
    typer.Option(
        "--dataset", metavar="DIR", help="CooperBench dataset: the folder of <repo>_task folders."
    ),
]
SubsetOption = Annotated[
    str | None,
    typer.Option(
        "--subset",
        metavar="NAME|FILE",
        help="Only the pairs of a subset: a JSON file, or a name in <dataset>/subsets "
        "(lite, flash).",
    ),
]
RepoOption = Annotated[
    str | None,
    typer.Option("--repo", metavar="R", help="Only this repo folder, e.g. openai_tiktoken_task."),
]
TaskOption = Annotated[
    int | None, typer.Option("--task", metavar="N", min=0, help="Only task N (0 is a task).")
]
FeaturesOption = Annotated[
    str | None,
    typer.Option(
        "--features",
        metavar="a,b",
        help="Only this feature pair, in this order, in every selected task.",
    ),
]


def select_pairs(
    dataset: Path, subset: str | None, repo: str | None, task: int | None, features: str | None
) -> list[Pair]:
    """The pairs the options select; a ``DatasetError`` for anything malformed."""
    wanted = None if features is None else parse_features(features)
    return discover_pairs(dataset, subset=subset, repo=repo, task_id=task, features=wanted)
