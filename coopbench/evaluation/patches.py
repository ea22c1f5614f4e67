"""The test-file filters a run can choose for agents' patches (``--test-filter``).

``upstream`` (the default) is upstream's own filter, which its scoring procedure always
applies (``eval.sandbox._filter_test_files``: test directories and test file names in any
language). ``extended`` is a deliberate difference, recorded in the run: before upstream's
filter, it also drops every section that CooperBench 0.0.14's markers or coopbench's rules
name as a test file (a path containing ``/test_`` or ``tests.py`` anywhere, Go, TS/JS and
Rust test files), which upstream's current filter lets through.
"""

import enum
import re

OLD_UPSTREAM_MARKERS = ("/test_", "/tests/", "_test.py", "/test/", "tests.py")

# Matched against each path of the header, with a leading "/" so that a root-level
# "tests/x.rs" or "__tests__/a.ts" looks like a nested one.
_EXTENDED_TEST_PATH = re.compile(
    r"(_test\.go$"  # Go
    r"|/__tests__/|\.(test|spec)\.(ts|tsx|js|jsx|mjs|cjs)$"  # TypeScript / JavaScript
    r"|/tests/)"  # Rust integration tests (and any tests/ dir)
)
_SECTION_START = re.compile(r"^diff --git ", re.MULTILINE)
_HEADER_PATHS = re.compile(r"^diff --git a/(.+?) b/(.+)$")


class TestFilter(enum.StrEnum):
    __test__ = False  # not a pytest test class, despite the name

    upstream = "upstream"
    extended = "extended"

    @classmethod
    def of_run(cls, run_config: dict) -> "TestFilter":
        """A run's filter; runs enqueued before it was recorded were evaluated with extended."""
        return cls(run_config.get("test_filter", cls.extended))


def is_extended_test_section(header: str) -> bool:
    if any(marker in header for marker in OLD_UPSTREAM_MARKERS):
        return True
    match = _HEADER_PATHS.match(header)
    paths = match.groups() if match else ()
    return any(_EXTENDED_TEST_PATH.search("/" + path) for path in paths)


def prefilter(patch: str, test_filter: TestFilter) -> str:
    """The patch as the run's filter hands it to upstream's procedure (which filters again)."""
    if test_filter is TestFilter.upstream:
        return patch
    starts = [match.start() for match in _SECTION_START.finditer(patch)]
    if not starts:
        return patch
    sections = [patch[a:b] for a, b in zip(starts, starts[1:] + [len(patch)])]
    kept = [s for s in sections if not is_extended_test_section(s.splitlines()[0])]
    return patch[: starts[0]] + "".join(kept)
