"""The test-file filters: upstream's (the default, applied by its own procedure) and
``extended``, which drops before it what CooperBench 0.0.14 and coopbench's rules named as
tests. Fast: no container."""

import pytest

from coopbench.evaluation.patches import TestFilter, prefilter
from coopbench.evaluation.upstream import filter_test_files


def section(path: str) -> str:
    return (f"diff --git a/{path} b/{path}\n--- a/{path}\n+++ b/{path}\n"
            "@@ -1 +1 @@\n-old\n+new\n")


SOURCE = ["mux.go", "src/lib.rs", "src/form.ts", "pkg/contest.py", "src/testing_utils.ts",
          "dirty_equals/_other.py"]
TESTS_BOTH = ["tests/test_a.py", "pkg/tests/helper.py", "x/foo_test.py", "tests/suite.rs",
              "mux_test.go", "middleware/logger_test.go", "src/__tests__/a.tsx",
              "src/form.test.ts", "src/x.spec.ts", "lib/y.test.js", "test_top.py"]
TESTS_EXTENDED_ONLY = ["src/test_helpers/fixtures.py", "app/integration_tests.py"]


def _both(patch: str, test_filter: TestFilter) -> str:
    """What reaches the merge: the run's prefilter, then upstream's own filter."""
    return filter_test_files(prefilter(patch, test_filter))


@pytest.mark.parametrize("path", TESTS_BOTH)
def test_upstreams_filter_drops_test_files_in_any_language(path):
    patch = section(path) + section("src/main.py")
    for test_filter in TestFilter:
        assert _both(patch, test_filter) == section("src/main.py")


@pytest.mark.parametrize("path", TESTS_EXTENDED_ONLY)
def test_extended_also_drops_what_upstream_lets_through(path):
    patch = section("src/main.py") + section(path)
    assert _both(patch, TestFilter.extended) == section("src/main.py")
    assert _both(patch, TestFilter.upstream) == patch


@pytest.mark.parametrize("path", SOURCE)
def test_source_files_are_kept_byte_for_byte(path):
    patch = section(path)
    for test_filter in TestFilter:
        assert prefilter(patch, test_filter) == patch
        assert _both(patch, test_filter) == patch


def test_the_upstream_choice_hands_the_patch_over_untouched():
    """Even text that is not a diff: upstream's procedure decides what to make of it."""
    for text in ("", "  \n", "not a diff", section("tests/test_a.py")):
        assert prefilter(text, TestFilter.upstream) == text
