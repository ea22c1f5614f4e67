"""Differential: the same patches scored by upstream's installed package and by coopbench.

Upstream's side is ``cooperbench.eval.sandbox.test_merged`` / ``test_solo`` exactly as its
``cooperbench eval`` calls them: its own Docker backend, the hidden tests read from the
fixture dataset. coopbench's side is ``coopbench.evaluation.evaluate``: its labelled,
limited containers on the run's network policy, the hidden tests written from a store
snapshot, its ``eval.json``. Both score on the real dirty-equals task 43 image (built here,
tests/support/real_task.py), with the defaults.

Inputs: the gold patches of all 36 pairs in coop (one gold patch per agent) and in solo
(both applied in turn, conflict markers and all), and the cases where upstream's procedure
branches: one side empty, identical patches, a patch that also edits a test file, a patch
that does not apply, a patch with the quoting and missing-newline defects upstream repairs,
an empty solo patch. Compared field by field: merge status, strategy and diff, apply
status, per feature passed, exit code, tests passed and failed, both_passed, error.
"""

import warnings

import pytest

from coopbench.evaluation.upstream import parse_counts
from tests.conftest import FIXTURES
from tests.evaluation.differential import case_ids
from tests.support.containers import container_names
from tests.support.real_task import all_pairs

# The scoring runs in the background from the session's start (tests/evaluation/
# differential.py); these tests run last and wait for it: alone, about ten minutes.
pytestmark = [pytest.mark.docker, pytest.mark.timeout(1800)]
FEATURE_FIELDS = ("feature_id", "passed", "exit_code", "tests_passed", "tests_failed")


@pytest.fixture(scope="module")
def scores(differential, docker_client):
    """id -> (upstream's result, coopbench's eval.json), once every case is scored."""
    found = differential.results()
    for case, error in differential.rescored.items():
        warnings.warn(f"{case}: scored again after an infrastructure error: {error}", stacklevel=1)
    assert container_names(docker_client, f"coopbench.run={differential.run}") == [], \
        "containers left behind"
    return found


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


@pytest.mark.parametrize("case", case_ids(FIXTURES))
def test_same_score_as_upstream(scores, case):
    theirs, ours = scores[case]
    fields = _solo_fields if case.startswith("solo") else _coop_fields
    assert fields(ours) == fields(theirs)


def test_the_cases_reach_every_branch_of_the_procedure(scores, differential, fixtures_dir):
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
    assert coop["coop-too-big-to-write"]["error"].startswith("Failed to write patch1.patch")
    # The 36 gold pairs all conflict under a naive merge (gold_conflict_report.json).
    not_conflicting = [f"coop-gold-{a}-{b}" for a, b in all_pairs(fixtures_dir)
                       if coop[f"coop-gold-{a}-{b}"]["merge"]["status"] != "conflicts"]
    assert not_conflicting == [], "\n".join(map(differential.describe, not_conflicting))
