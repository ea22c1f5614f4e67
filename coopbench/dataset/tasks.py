"""The CooperBench dataset tree, read into tasks and the feature pairs to run.

Layout (reference section 1.2)::

    <dataset>/<repo>_task/task<ID>/feature<N>/{feature.md, feature.patch, tests.patch}
    <dataset>/subsets/<name>.json

Discovery follows upstream's ``runner/tasks.py`` (reference section 1.5): same order, same
pair generation, same records. Two things differ on purpose: ``task_id=0`` selects task 0
(upstream's truthiness test ignored it), and input that upstream skipped silently or crashed
on (a subset naming a task or feature that is not there, a folder id that is not an integer,
an unknown ``--features`` id) is a ``DatasetError`` that says what to fix.
"""

import re
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

from coopbench.dataset.subsets import Subset, load_subset
from coopbench.errors import DatasetError

REPO_DIR_SUFFIX = "_task"
# Ids are written back into names (image tag ``task<ID>``, ``feature<N>`` folders), so a
# zero-padded "task07" would not round-trip: refused like a non-integer. Task 0 exists
# (openai_tiktoken_task/task0); features count from 1.
_TASK_DIR = re.compile(r"task(0|[1-9][0-9]*)")
_FEATURE_DIR = re.compile(r"feature([1-9][0-9]*)")
_FEATURES_ARG = re.compile(r"\s*[1-9][0-9]*\s*(,\s*[1-9][0-9]*\s*)+")
_NARROW = "narrow the selection with --repo/--task to tasks you have, or use the full dataset"


def repo_slug(repo: str) -> str:
    """The repo as named in images: ``openai_tiktoken_task`` -> ``openai-tiktoken``."""
    return repo.removesuffix(REPO_DIR_SUFFIX).replace("_", "-")


@dataclass(frozen=True)
class Task:
    """One ``<repo>_task/task<ID>`` folder; every feature in it has a spec."""

    repo: str
    task_id: int
    path: Path
    feature_ids: tuple[int, ...]  # ascending

    @property
    def slug(self) -> str:
        """The repo as named in images: ``openai_tiktoken_task`` -> ``openai-tiktoken``."""
        return repo_slug(self.repo)

    def feature_dir(self, fid: int) -> Path:
        if fid not in self.feature_ids:
            raise DatasetError(f"{self.path} has no feature{fid} (it has {_ids(self.feature_ids)})")
        return self.path / f"feature{fid}"

    def spec(self, fid: int) -> str:
        """The natural-language description the agent is given."""
        return _read(self.feature_dir(fid) / "feature.md")

    def gold_patch(self, fid: int) -> str:
        """The reference implementation; "" when absent, since only gold checks use it."""
        path = self.feature_dir(fid) / "feature.patch"
        return _read(path) if path.exists() else ""

    def tests_patch(self, fid: int) -> str:
        """The hidden tests; evaluation cannot run without them."""
        return _read(self.feature_dir(fid) / "tests.patch")


@dataclass(frozen=True)
class Pair:
    """One unit of work: a group of features of one task, two by default (upstream's README
    calls a pair a "task"; its coop runs one agent per feature of any group)."""

    repo: str
    task_id: int
    features: tuple[int, ...]  # as given: sorted from discovery and subsets, CLI order kept

    @property
    def sorted_features(self) -> tuple[int, ...]:
        return tuple(sorted(self.features))

    @property
    def dir_name(self) -> str:
        """Log folder name; sorted, so ``--features 2,1`` and ``1,2`` share it (as upstream)."""
        return group_dir_name(self.features)

    @property
    def label(self) -> str:
        return group_label(self.repo, self.task_id, self.features)

    def as_dict(self) -> dict:
        """Upstream's discovery record."""
        return {"repo": self.repo, "task_id": self.task_id, "features": list(self.features)}


def group_dir_name(features: tuple[int, ...] | list[int]) -> str:
    """A feature group as upstream names its log folder: ``f1_f2`` (``f1_f2_f3``...), ascending."""
    return "_".join(f"f{fid}" for fid in sorted(features))


def group_label(repo: str, task_id: int, features: tuple[int, ...] | list[int]) -> str:
    """How a feature group reads to a person (status, Flower, the report): ``repo/3 f1_f2``."""
    return f"{repo}/{task_id} {group_dir_name(features)}"


def job_label(run: str, setting: str, repo: str, task_id: int,
              features: tuple[int, ...] | list[int]) -> str:
    """How a job reads in Flower (its message's shown arguments): ``run coop repo/3 f1_f2``."""
    return f"{run} {setting} {group_label(repo, task_id, features)}"


def demo_dataset_path() -> Path:
    """The small dataset shipped inside the package, in the same layout."""
    return Path(__file__).resolve().parent / "demo"


def load_tasks(dataset: Path, repo: str | None = None, task_id: int | None = None) -> list[Task]:
    """Tasks in upstream's order: repo folders, then ``task*`` folders, both sorted by name."""
    repo_dirs = _repo_dirs(Path(dataset))
    if repo is not None:
        if repo not in {d.name for d in repo_dirs}:
            names = ", ".join(d.name for d in repo_dirs)
            raise DatasetError(f"no repo {repo!r} in {dataset}; its repos: {names}")
        repo_dirs = [d for d in repo_dirs if d.name == repo]
    found = [(d.name, task_dir, tid) for d in repo_dirs for task_dir, tid in _task_dirs(d)]
    # `is None`, not truthiness: task 0 is a real task.
    tasks = [
        Task(name, tid, task_dir, _feature_ids(task_dir))
        for name, task_dir, tid in found
        if task_id is None or tid == task_id
    ]
    if not tasks and task_id is not None:
        names = ", ".join(f"{name}/{task_dir.name}" for name, task_dir, _ in found) or "none"
        raise DatasetError(f"no task {task_id} in {dataset} ({repo or 'any repo'}); tasks: {names}")
    return tasks


def discover_pairs(
    dataset: Path,
    subset: str | None = None,
    repo: str | None = None,
    task_id: int | None = None,
    features: tuple[int, ...] | None = None,
) -> list[Pair]:
    """The pairs to run, in upstream's order (reference 1.5).

    Per task: ``features`` (exactly that pair, order kept) wins, else the subset's pairs, else
    all C(n, 2) pairs of the sorted ids. Tasks with fewer than 2 features are skipped; with a
    subset, so are the tasks it does not list.
    """
    wanted = None if features is None else _check_group(features)
    tasks = load_tasks(dataset, repo, task_id)
    chosen = None if subset is None else load_subset(dataset, subset)
    if chosen is not None:
        _check_subset_against(chosen, tasks, Path(dataset), repo, task_id)
    pairs: list[Pair] = []
    for task in tasks:
        key = (task.repo, task.task_id)
        if len(task.feature_ids) < 2 or (chosen is not None and key not in chosen.pairs_by_task):
            continue
        if wanted is not None:
            if missing := [fid for fid in wanted if fid not in task.feature_ids]:
                raise DatasetError(
                    f"--features {','.join(map(str, wanted))}: {task.path} has no feature{missing[0]} "
                    f"(it has {_ids(task.feature_ids)}); pick ids it has, or {_NARROW}"
                )
            task_pairs = [wanted]
        elif chosen is not None and chosen.pairs_by_task[key] is not None:
            task_pairs = chosen.pairs_by_task[key]
        else:
            task_pairs = list(combinations(task.feature_ids, 2))
        pairs.extend(Pair(task.repo, task.task_id, pair) for pair in task_pairs)
    return pairs


def parse_features(text: str) -> tuple[int, ...]:
    """``"1,2"`` -> ``(1, 2)``, ``"1,2,3"`` -> ``(1, 2, 3)``: two or more different positive
    ids, order kept."""
    ids = tuple(int(part) for part in text.split(",")) if _FEATURES_ARG.fullmatch(text) else ()
    if not _is_group(ids):
        raise DatasetError(f"--features takes two or more different feature ids, like 1,2 or "
                           f"1,2,3 (got {text!r})")
    return ids


def _check_group(features: tuple[int, ...]) -> tuple[int, ...]:
    if not _is_group(features):
        raise DatasetError(f"a group is two or more different feature ids, like 1,2 "
                           f"(got {features!r})")
    return tuple(features)


def _is_group(features: tuple[int, ...]) -> bool:
    """Two or more feature ids, none twice."""
    return len(features) >= 2 and len(set(features)) == len(features)


def _check_subset_against(
    subset: Subset, tasks: list[Task], dataset: Path, repo: str | None, task_id: int | None
) -> None:
    """Every subset entry within the --repo/--task selection must exist in the dataset."""
    by_key = {(t.repo, t.task_id): t for t in tasks}
    for (entry_repo, entry_id), pairs in subset.pairs_by_task.items():
        if repo not in (None, entry_repo) or task_id not in (None, entry_id):
            continue  # outside the --repo/--task selection
        task = by_key.get((entry_repo, entry_id))
        if task is None:
            raise DatasetError(
                f"subset file {subset.path} lists {entry_repo}/task{entry_id}, "
                f"which is not in {dataset}; {_NARROW}"
            )
        for fid in (fid for pair in pairs or () for fid in pair):
            if fid not in task.feature_ids:
                raise DatasetError(
                    f"subset file {subset.path} pairs feature{fid} of {entry_repo}/task{entry_id}, "
                    f"which {task.path} does not have (it has {_ids(task.feature_ids)}); {_NARROW}"
                )


def _repo_dirs(dataset: Path) -> list[Path]:
    if not dataset.is_dir():
        raise DatasetError(
            f"dataset directory {dataset} does not exist; pass --dataset DIR, the folder that "
            "holds the <repo>_task folders of CooperBench"
        )
    # Only <repo>_task folders: skips README.md, gold_conflict_report.json, subsets/, .cache/.
    repo_dirs = sorted(d for d in dataset.iterdir() if d.is_dir() and d.name.endswith("_task"))
    if not repo_dirs:
        raise DatasetError(f"{dataset} holds no <repo>_task folders; is it a CooperBench dataset?")
    return repo_dirs


def _task_dirs(repo_dir: Path) -> list[tuple[Path, int]]:
    # Sorted by name, not id (task26 < task27 < task56, task25 < task290 < task68), as upstream.
    dirs = sorted(d for d in repo_dir.iterdir() if d.is_dir() and d.name.startswith("task"))
    return [(d, _folder_id(d, _TASK_DIR, "task<ID>")) for d in dirs]


def _feature_ids(task_dir: Path) -> tuple[int, ...]:
    ids = []
    for d in sorted(d for d in task_dir.iterdir() if d.is_dir() and d.name.startswith("feature")):
        ids.append(_folder_id(d, _FEATURE_DIR, "feature<N>"))
        if not (d / "feature.md").is_file():
            raise DatasetError(f"missing {d / 'feature.md'}: every feature folder needs its spec")
    return tuple(sorted(ids))


def _folder_id(folder: Path, pattern: re.Pattern[str], expected: str) -> int:
    if (match := pattern.fullmatch(folder.name)) is None:
        hint = "an integer id without leading zeros; rename or remove it"
        raise DatasetError(f"folder {folder} is not named {expected} with {hint}")
    return int(match[1])


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DatasetError(f"missing {path}: the dataset is incomplete") from None
    except (OSError, UnicodeDecodeError) as error:
        raise DatasetError(f"cannot read {path}: {error}") from None


def _ids(ids: tuple[int, ...]) -> str:
    return "features " + ", ".join(map(str, ids)) if ids else "no features"
