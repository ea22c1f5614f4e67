"""Differential: the same patches scored by upstream's installed package and by coopbench.

Upstream's side is ``cooperbench.eval.sandbox.test_merged`` / ``test_solo`` exactly as its
``cooperbench eval`` calls them: its own Docker backend, the hidden tests read from the
fixture dataset. coopbench's side is ``coopbench.evaluation.evaluate``: its labelled,
limited containers on the run's network policy, the hidden tests written from a store
snapshot, its ``eval.json``. Both score on the real dirty-equals task 43 image (built here,
tests/real_task.py), with the defaults.

Inputs: the gold patches of all 36 pairs in coop (one gold patch per agent) and in solo
(both applied in turn, conflict markers and all), and the cases where upstream's procedure
branches: one side empty, identical patches, a patch that also edits a test file, a patch
that does not apply, a patch with the quoting and missing-newline defects upstream repairs,
an empty solo patch. Compared field by field: merge status, strategy and diff, apply
status, per feature passed, exit code, tests passed and failed, both_passed, error.
"""

import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from coopbench.evaluation.evaluate import EvalInput, evaluate
from coopbench.evaluation.upstream import parse_counts
from tests.containers import container_names
from tests.real_task import REPO, TASK_ID, SoloPatches, all_pairs, read_feature

pytestmark = pytest.mark.docker

PARALLEL = 4  # evaluations at once: pip in every test run keeps 2 cores busy
FEATURE_FIELDS = ("feature_id", "passed", "exit_code", "tests_passed", "tests_failed")


def _cases(fixtures, solo_patches) -> dict[str, tuple[str, tuple[int, int], dict[int, str]]]:
    """id -> (setting, features, patches by feature id; solo: both ids map to the one patch)."""
    def gold(fid: int) -> str:
        return read_feature(fixtures, fid, "feature.patch")

    cases = {}
    for a, b in all_pairs(fixtures):
        cases[f"coop-gold-{a}-{b}"] = ("coop", (a, b), {a: gold(a), b: gold(b)})
        solo = solo_patches.patch((a, b))
        cases[f"solo-gold-{a}-{b}"] = ("solo", (a, b), {a: solo, b: solo})
    broken = gold(2).replace("\n ", "\n CHANGED CONTEXT ", 1)  # a context line that is not there
    defective = gold(2).replace("'", "'\\''").rstrip("\n")  # shell-escaped quotes, no newline
    with_tests = gold(2) + read_feature(fixtures, 2, "tests.patch")  # the agent wrote tests too
    cases |= {
        "coop-second-empty": ("coop", (2, 3), {2: gold(2), 3: ""}),
        "coop-first-empty": ("coop", (2, 3), {2: "", 3: gold(3)}),
        "coop-both-empty": ("coop", (2, 3), {2: "", 3: ""}),
        "coop-identical": ("coop", (2, 3), {2: gold(2), 3: gold(2)}),
        "coop-edits-tests": ("coop", (2, 3), {2: with_tests, 3: ""}),
        "coop-does-not-apply": ("coop", (2, 3), {2: broken, 3: gold(3)}),
        "coop-defects-repaired": ("coop", (2, 3), {2: defective, 3: ""}),
        "solo-defects-repaired": ("solo", (2, 4), {2: defective, 4: defective}),
        "solo-edits-tests": ("solo", (2, 4), {2: with_tests, 4: with_tests}),
        "solo-empty": ("solo", (2, 4), {2: "", 4: ""}),
    }
    assert broken != gold(2) and defective != gold(2)
    return cases


@pytest.fixture(scope="module")
def scores(real_task_image, docker_client, fixtures_dir, tmp_path_factory):
    """Every case scored by both, several at a time: id -> (upstream's, coopbench's)."""
    from cooperbench.eval.sandbox import test_merged, test_solo

    cases = _cases(fixtures_dir, SoloPatches(fixtures_dir, tmp_path_factory.mktemp("solo")))
    run = f"test-differential-{uuid.uuid4().hex[:8]}"
    tests = {fid: read_feature(fixtures_dir, fid, "tests.patch") for fid in range(1, 10)}

    def upstream(case: str) -> dict:
        setting, (a, b), patches = cases[case]
        if setting == "solo":
            return test_solo(REPO, TASK_ID, a, b, patch=patches[a], dataset_dir=fixtures_dir)
        return test_merged(REPO, TASK_ID, a, b, patch1=patches[a], patch2=patches[b],
                           dataset_dir=fixtures_dir)

    def coopbench(case: str) -> dict:
        setting, features, patches = cases[case]
        spec = EvalInput(
            repo=REPO, task_id=TASK_ID, setting=setting, features=features, patches=patches,
            tests_patches={fid: tests[fid] for fid in features}, image=real_task_image,
            labels={"run": run, "job": case, "role": "eval"},
            container_name=f"coopbench-test-diff-{uuid.uuid4().hex[:10]}")
        return evaluate(docker_client, spec).eval_json

    with ThreadPoolExecutor(PARALLEL) as pool:
        futures = {(case, side): pool.submit(side_fn, case)
                   for case in cases for side, side_fn in (("up", upstream), ("cb", coopbench))}
        results = {key: future.result() for key, future in futures.items()}
    assert container_names(docker_client, f"coopbench.run={run}") == [], "containers left behind"
    return {case: (results[case, "up"], results[case, "cb"]) for case in cases}


def _case_ids(fixtures) -> list[str]:
    ids = [f"{s}-gold-{a}-{b}" for a, b in all_pairs(fixtures) for s in ("coop", "solo")]
    return ids + ["coop-second-empty", "coop-first-empty", "coop-both-empty", "coop-identical",
                  "coop-edits-tests", "coop-does-not-apply", "coop-defects-repaired",
                  "solo-defects-repaired", "solo-edits-tests", "solo-empty"]


def pytest_generate_tests(metafunc):
    if "case" in metafunc.fixturenames:
        from tests.conftest import FIXTURES
        metafunc.parametrize("case", _case_ids(FIXTURES))


def _coop_fields(result: dict) -> dict:
    merge = result["merge"]
    return {
        "apply_status": result["apply_status"],
        "merge": (merge["status"], merge["strategy"], merge["diff"]),
        "feature1": {k: result["feature1"].get(k) for k in FEATURE_FIELDS},
        "feature2": {k: result["feature2"].get(k) for k in FEATURE_FIELDS},
        "both_passed": result["both_passed"], "error": result["error"],
    }


def _solo_fields(result: dict) -> dict:
    def feature(block: dict) -> tuple:  # upstream keeps no counts for solo: read them alike
        counts = parse_counts(block["test_output"])
        return block["passed"], counts["passed"], counts["failed"], bool(block["test_output"])

    return {"feature1": feature(result["feature1"]), "feature2": feature(result["feature2"]),
            "both_passed": result["both_passed"], "error": result["error"]}


def test_same_score_as_upstream(scores, case):
    theirs, ours = scores[case]
    fields = _solo_fields if case.startswith("solo") else _coop_fields
    assert fields(ours) == fields(theirs)


def test_the_cases_reach_every_branch_of_the_procedure(scores, fixtures_dir):
    """The inputs are not all alike: they exercise every path of upstream's procedure."""
    merges = {(ours["merge"]["status"], ours["merge"]["strategy"])
              for case, (_, ours) in scores.items() if case.startswith("coop")}
    assert {("conflicts", "naive"), ("clean", "naive"), ("missing_input", "naive"),
            ("identical", "skip-merge-identical")} <= merges, merges
    coop = {case: ours for case, (_, ours) in scores.items() if case.startswith("coop")}
    assert coop["coop-does-not-apply"]["apply_status"]["agent1"] == "failed"
    assert coop["coop-second-empty"]["feature1"]["passed"] is True  # gold 2 passes its tests
    assert coop["coop-defects-repaired"]["feature1"]["passed"] is True  # repaired, it applies
    assert coop["coop-edits-tests"]["feature1"]["passed"] is True  # the test file was dropped
    # The 36 gold pairs all conflict under a naive merge (gold_conflict_report.json).
    assert all(coop[f"coop-gold-{a}-{b}"]["merge"]["status"] == "conflicts"
               for a, b in all_pairs(fixtures_dir))
