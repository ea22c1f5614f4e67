"""coopbench.dataset on the real CooperBench fixtures, and on broken copies of them."""

import json
import shutil
from itertools import combinations
from pathlib import Path

import pytest

from coopbench.dataset.subsets import load_subset
from coopbench.dataset.tasks import (
    Pair,
    Task,
    demo_dataset_path,
    discover_pairs,
    load_tasks,
    parse_features,
)
from coopbench.errors import DatasetError

REPO_ROOT = Path(__file__).resolve().parents[2]
# The shared folder is a sibling of the repo root; read-only, so broken cases use copies.
FIXTURES = (REPO_ROOT / "../shared/fixtures/cooperbench").resolve()

TIKTOKEN = ("openai_tiktoken_task", 0)
DIRTY_EQUALS = ("samuelcolvin_dirty_equals_task", 43)
GO_CHI = ("go_chi_task", 26)
FIXTURE_TASKS = [GO_CHI, TIKTOKEN, DIRTY_EQUALS]  # discovery order: repo folder names sorted
FEATURE_COUNTS = {TIKTOKEN: 10, DIRTY_EQUALS: 9, GO_CHI: 4}


def subset_file_pairs(name: str, repo: str, task_id: int) -> list[Pair]:
    """The pairs a subset file lists for one task, read straight from the JSON."""
    data = json.loads((FIXTURES / "subsets" / f"{name}.json").read_text())
    (entry,) = [t for t in data["tasks"] if (t["repo"], t["task_id"]) == (repo, task_id)]
    return [Pair(repo, task_id, (a, b)) for a, b in entry["pairs"]]


def copy_task(dataset: Path, repo: str, task_id: int, as_folder: str | None = None) -> Path:
    """Copy a fixture task into ``dataset``, writable, optionally under another folder name."""
    target = dataset / repo / (as_folder or f"task{task_id}")
    shutil.copytree(FIXTURES / repo / f"task{task_id}", target, copy_function=shutil.copyfile)
    for folder in [target, *target.rglob("*")]:
        if folder.is_dir():
            folder.chmod(0o755)  # copytree copied the fixture's read-only mode
    return target


def write_subset(dataset: Path, tasks: list[dict]) -> Path:
    path = dataset / "subsets" / "mine.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"name": "mine", "description": "test", "tasks": tasks}))
    return path


# --- the real fixtures --------------------------------------------------------------------


@pytest.mark.parametrize("subset", ["lite", "flash"])
@pytest.mark.parametrize("repo,task_id", FIXTURE_TASKS)
def test_subset_pairs_match_the_subset_file(subset, repo, task_id):
    expected = subset_file_pairs(subset, repo, task_id)
    assert expected, "every fixture task is in both subsets"
    assert discover_pairs(FIXTURES, subset=subset, repo=repo, task_id=task_id) == expected


def test_subset_given_as_a_file_path():
    path = FIXTURES / "subsets" / "flash.json"
    pairs = discover_pairs(FIXTURES, subset=str(path), task_id=0)
    assert pairs == subset_file_pairs("flash", *TIKTOKEN)


def test_load_subset_reads_name_description_and_pairs():
    subset = load_subset(FIXTURES, "lite")
    assert subset.name == "lite"
    assert subset.path == FIXTURES / "subsets" / "lite.json"
    assert "100-pair" in subset.description
    assert sum(len(pairs) for pairs in subset.pairs_by_task.values()) == 100
    assert subset.pairs_by_task[TIKTOKEN] == [(1, 5), (2, 4), (2, 9), (3, 6), (6, 8)]


def test_task_0_is_selectable():
    pairs = discover_pairs(FIXTURES, task_id=0)
    assert len(pairs) == 45  # C(10, 2)
    assert {(p.repo, p.task_id) for p in pairs} == {TIKTOKEN}
    assert [t.task_id for t in load_tasks(FIXTURES, task_id=0)] == [0]


def test_repo_filter():
    pairs = discover_pairs(FIXTURES, repo="samuelcolvin_dirty_equals_task")
    assert {(p.repo, p.task_id) for p in pairs} == {DIRTY_EQUALS}
    assert len(pairs) == 36


def test_features_keep_the_given_order():
    pairs = discover_pairs(FIXTURES, features=(2, 1))
    assert pairs == [Pair(repo, task_id, (2, 1)) for repo, task_id in FIXTURE_TASKS]
    assert pairs[0].sorted_features == (1, 2)
    assert pairs[0].dir_name == "f1_f2"
    assert pairs[0].as_dict() == {"repo": "go_chi_task", "task_id": 26, "features": [2, 1]}


def test_features_override_subset_pairs():
    # (1, 10) is not a lite pair of tiktoken; upstream emits it anyway.
    pairs = discover_pairs(FIXTURES, subset="lite", task_id=0, features=(1, 10))
    assert pairs == [Pair(*TIKTOKEN, (1, 10))]


@pytest.mark.parametrize("repo,task_id", FIXTURE_TASKS)
def test_all_pairs_of_a_task(repo, task_id):
    pairs = discover_pairs(FIXTURES, repo=repo, task_id=task_id)
    ids = range(1, FEATURE_COUNTS[(repo, task_id)] + 1)
    assert [p.features for p in pairs] == list(combinations(ids, 2))


def test_all_pairs_counts_and_order():
    pairs = discover_pairs(FIXTURES)
    assert len(pairs) == 6 + 45 + 36
    tasks_in_order = list(dict.fromkeys((p.repo, p.task_id) for p in pairs))
    assert tasks_in_order == FIXTURE_TASKS
    # Feature ids sort as numbers: feature10 comes last although "feature10" < "feature2".
    tiktoken = [p.features for p in pairs if p.repo == "openai_tiktoken_task"]
    assert tiktoken[:2] == [(1, 2), (1, 3)] and tiktoken[-1] == (9, 10)


def test_only_repo_folders_are_read():
    # README.md, gold_conflict_report.json and subsets/ sit next to the repo folders.
    assert [t.repo for t in load_tasks(FIXTURES)] == [repo for repo, _ in FIXTURE_TASKS]


def test_task_accessors():
    (task,) = load_tasks(FIXTURES, repo="openai_tiktoken_task")
    assert task == Task(
        "openai_tiktoken_task", 0, FIXTURES / "openai_tiktoken_task" / "task0", tuple(range(1, 11))
    )
    assert task.slug == "openai-tiktoken"
    assert task.feature_dir(10) == task.path / "feature10"
    assert task.spec(1) == (task.path / "feature1" / "feature.md").read_text()
    assert task.gold_patch(1).startswith("diff --git")
    assert task.tests_patch(1).startswith("diff --git")
    with pytest.raises(DatasetError, match="no feature11"):
        task.spec(11)


def test_demo_dataset_is_inside_the_package():
    assert demo_dataset_path() == REPO_ROOT / "coopbench" / "dataset" / "demo"


@pytest.mark.parametrize("text,expected", [("1,2", (1, 2)), ("2,1", (2, 1)), (" 3 , 10 ", (3, 10)),
                                           ("1,3,4", (1, 3, 4))])
def test_parse_features(text, expected):
    assert parse_features(text) == expected


@pytest.mark.parametrize("text", ["", "1", "1,", "1,1", "0,1", "-1,2", "a,b", "1,2,1", "1;2"])
def test_parse_features_refuses_anything_but_distinct_positive_ids(text):
    with pytest.raises(DatasetError, match="--features"):
        parse_features(text)


# --- copies in tmp_path: order, skips, and broken trees -------------------------------------


def test_task_folders_sort_by_name_not_number(tmp_path):
    for folder in ["task68", "task290", "task25", "task56", "task27", "task26"]:
        copy_task(tmp_path, "go_chi_task", 26, as_folder=folder)
    copy_task(tmp_path, "openai_tiktoken_task", 0)
    tasks = [(t.repo, t.task_id) for t in load_tasks(tmp_path)]
    go_chi = [25, 26, 27, 290, 56, 68]  # as upstream: "task290" < "task56" < "task68"
    assert tasks == [("go_chi_task", n) for n in go_chi] + [TIKTOKEN]


def test_task_with_one_feature_is_skipped(tmp_path):
    single = copy_task(tmp_path, "go_chi_task", 26)
    for fid in (2, 3, 4):
        shutil.rmtree(single / f"feature{fid}")
    copy_task(tmp_path, "openai_tiktoken_task", 0)
    assert [t.feature_ids for t in load_tasks(tmp_path, repo="go_chi_task")] == [(1,)]
    assert {p.repo for p in discover_pairs(tmp_path)} == {"openai_tiktoken_task"}
    assert discover_pairs(tmp_path, repo="go_chi_task") == []


def test_missing_feature_patch_reads_as_empty_but_missing_tests_patch_fails(tmp_path):
    path = copy_task(tmp_path, "go_chi_task", 26)
    (path / "feature1" / "feature.patch").unlink()
    (path / "feature1" / "tests.patch").unlink()
    (task,) = load_tasks(tmp_path)
    assert task.gold_patch(1) == ""
    with pytest.raises(DatasetError, match=r"feature1/tests\.patch"):
        task.tests_patch(1)


def test_missing_feature_md(tmp_path):
    path = copy_task(tmp_path, "go_chi_task", 26)
    (path / "feature3" / "feature.md").unlink()
    with pytest.raises(DatasetError, match=r"task26/feature3/feature\.md"):
        discover_pairs(tmp_path)


@pytest.mark.parametrize("folder", ["taskfoo", "task07", "task-1"])
def test_task_folder_without_an_integer_id(tmp_path, folder):
    copy_task(tmp_path, "go_chi_task", 26)
    copy_task(tmp_path, "go_chi_task", 26, as_folder=folder)
    with pytest.raises(DatasetError, match=f"go_chi_task/{folder} is not named task<ID>"):
        load_tasks(tmp_path)


def test_feature_folder_without_an_integer_id(tmp_path):
    path = copy_task(tmp_path, "go_chi_task", 26)
    (path / "feature4").rename(path / "feature_extra")
    with pytest.raises(DatasetError, match="task26/feature_extra is not named feature<N>"):
        load_tasks(tmp_path)


def test_subset_naming_a_missing_task(tmp_path):
    copy_task(tmp_path, "go_chi_task", 26)
    path = write_subset(tmp_path, [{"repo": "go_chi_task", "task_id": 27, "pairs": [[1, 2]]}])
    with pytest.raises(DatasetError) as caught:
        discover_pairs(tmp_path, subset="mine")
    assert str(path) in str(caught.value) and "go_chi_task/task27" in str(caught.value)
    assert "--repo/--task" in str(caught.value)


def test_official_subset_on_a_partial_dataset_names_what_is_missing():
    with pytest.raises(DatasetError, match="lite.json lists dottxt_ai_outlines_task/task1655"):
        discover_pairs(FIXTURES, subset="lite")
    with pytest.raises(DatasetError, match="lite.json lists go_chi_task/task27"):
        discover_pairs(FIXTURES, subset="lite", repo="go_chi_task")


def test_subset_naming_a_missing_feature(tmp_path):
    copy_task(tmp_path, "go_chi_task", 26)
    path = write_subset(tmp_path, [{"repo": "go_chi_task", "task_id": 26, "pairs": [[1, 9]]}])
    with pytest.raises(DatasetError) as caught:
        discover_pairs(tmp_path, subset=str(path))
    assert str(path) in str(caught.value) and "feature9" in str(caught.value)


def test_subset_task_without_pairs_means_all_its_pairs(tmp_path):
    copy_task(tmp_path, "go_chi_task", 26)
    copy_task(tmp_path, "openai_tiktoken_task", 0)
    write_subset(tmp_path, [{"repo": "go_chi_task", "task_id": 26}])
    assert len(discover_pairs(tmp_path, subset="mine")) == 6


def test_subset_that_is_not_json(tmp_path):
    copy_task(tmp_path, "go_chi_task", 26)
    path = tmp_path / "broken.json"
    path.write_text('{"tasks": [')
    with pytest.raises(DatasetError, match=f"cannot read subset file {path}"):
        discover_pairs(tmp_path, subset=str(path))


@pytest.mark.parametrize(
    "data",
    [[], {"tasks": {}}, {"tasks": [{"repo": "go_chi_task", "task_id": "26"}]},
     {"tasks": [{"repo": "go_chi_task", "task_id": 26, "pairs": [[1, 2, 3]]}]},
     {"tasks": [{"repo": "go_chi_task", "task_id": 26, "pairs": [[True, 2]]}]}],
)
def test_subset_of_the_wrong_shape(tmp_path, data):
    path = tmp_path / "shape.json"
    path.write_text(json.dumps(data))
    with pytest.raises(DatasetError, match=f"subset file {path} is malformed"):
        load_subset(tmp_path, str(path))


def test_subset_that_does_not_exist(tmp_path):
    copy_task(tmp_path, "go_chi_task", 26)
    missing = tmp_path / "nowhere" / "subset.json"
    with pytest.raises(DatasetError, match=f"no file {missing}"):
        discover_pairs(tmp_path, subset=str(missing))
    with pytest.raises(DatasetError, match="lite, flash|flash, lite"):
        load_subset(FIXTURES, "medium")


def test_unknown_features_id():
    with pytest.raises(DatasetError) as caught:
        discover_pairs(FIXTURES, task_id=43, features=(1, 12))
    message = str(caught.value)
    assert "samuelcolvin_dirty_equals_task/task43 has no feature12" in message
    assert "features 1, 2, 3, 4, 5, 6, 7, 8, 9" in message


def test_missing_dataset_and_unmatched_filters(tmp_path):
    with pytest.raises(DatasetError, match=f"dataset directory {tmp_path / 'none'} does not"):
        load_tasks(tmp_path / "none")
    with pytest.raises(DatasetError, match="repos: go_chi_task, openai_tiktoken_task"):
        load_tasks(FIXTURES, repo="go_chi")
    with pytest.raises(DatasetError, match="tasks: go_chi_task/task26, openai_tiktoken_task/task0"):
        load_tasks(FIXTURES, task_id=27)
    with pytest.raises(DatasetError, match="no <repo>_task folders"):
        load_tasks(FIXTURES / "subsets")
