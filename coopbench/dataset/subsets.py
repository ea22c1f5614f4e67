"""Subset files (upstream's ``subsets/*.json``): which tasks and pairs a run selects."""

import json
from dataclasses import dataclass
from pathlib import Path

from coopbench.errors import DatasetError

# (repo, task id) -> its pairs, or None: every pair of the task, as upstream.
SubsetPairs = dict[tuple[str, int], list[tuple[int, int]] | None]


@dataclass(frozen=True)
class Subset:
    """A subset file. A task listed without "pairs" maps to None: all its pairs, as upstream."""

    name: str
    description: str
    path: Path
    pairs_by_task: SubsetPairs


def load_subset(dataset: Path, name_or_file: str) -> Subset:
    """Read a subset given as the path of a file, else by name from ``<dataset>/subsets/``."""
    path = Path(name_or_file)
    if not path.is_file():
        path = Path(dataset) / "subsets" / f"{name_or_file}.json"
    if not path.is_file():
        known = sorted(p.stem for p in (Path(dataset) / "subsets").glob("*.json"))
        raise DatasetError(
            f"subset {name_or_file!r} not found: no file {name_or_file} and no {path}; give a "
            f"subset file or one of: {', '.join(known) or 'none in this dataset'}"
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise DatasetError(f"cannot read subset file {path}: {error}; fix or replace it") from None
    return _parse_subset(path, data)


def _parse_subset(path: Path, data: object) -> Subset:
    def bad(what: str) -> DatasetError:
        return DatasetError(
            f"subset file {path} is malformed: {what}; expected {{\"name\", \"description\", "
            '"tasks": [{"repo", "task_id", "pairs": [[f1, f2], ...]}, ...]}'
        )

    if not isinstance(data, dict) or not isinstance(data.get("tasks"), list):
        raise bad('no "tasks" list')
    pairs_by_task: SubsetPairs = {}
    for i, entry in enumerate(data["tasks"]):
        if not isinstance(entry, dict):
            raise bad(f"tasks[{i}] is not an object")
        repo, task_id, pairs = entry.get("repo"), entry.get("task_id"), entry.get("pairs")
        if not isinstance(repo, str) or not _is_int(task_id):
            raise bad(f"tasks[{i}] needs a string repo and an integer task_id")
        if (repo, task_id) in pairs_by_task:
            raise bad(f"tasks[{i}] lists {repo}/task{task_id} a second time")
        if pairs is not None and not (
            isinstance(pairs, list)
            and all(isinstance(p, list) and len(p) == 2 and all(map(_is_int, p)) for p in pairs)
        ):
            raise bad(f"tasks[{i}].pairs is not a list of [f1, f2] integer pairs")
        pairs_by_task[(repo, task_id)] = None if pairs is None else [(a, b) for a, b in pairs]
    name, description = data.get("name", path.stem), data.get("description", "")
    if not isinstance(name, str) or not isinstance(description, str):
        raise bad("name and description must be strings")
    return Subset(name, description, path, pairs_by_task)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)  # JSON true is not an id
