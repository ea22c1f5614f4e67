#!/usr/bin/env bash
# Test runner baked into the task image (upstream CooperBench contract, reference section 6.6):
#   runner.sh <tests_patch_name> [<feature_patch_name>]
# Both names are resolved under /patches/. The repo is reset to its base commit, the feature
# patch (if given and non-empty) and then the tests patch are applied, and only the test files
# the tests patch touches are run. Exit code = pytest's; a missing or unappliable patch exits
# non-zero with an ERROR line. Nothing is installed here: the image already has pytest and the
# tasks need no network.
set -euo pipefail

REPO_DIR=/workspace/repo
PATCH_DIR=/patches

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
    echo "usage: runner.sh <tests_patch_name> [<feature_patch_name>]  (files under $PATCH_DIR/)" >&2
    exit 2
fi
TESTS_PATCH="$PATCH_DIR/$1"
FEATURE_PATCH="${2:+$PATCH_DIR/$2}"

cleanup() {
    local rc=$?
    cd "$REPO_DIR" && git reset --hard -q 2>/dev/null && git clean -fdxq 2>/dev/null || true
    exit "$rc"
}
trap cleanup EXIT

# is_empty FILE: true when FILE has no non-whitespace character
is_empty() { ! grep -q '[^[:space:]]' "$1"; }

# apply_patch LABEL FILE: exact apply (whitespace-tolerant), else a 3-way apply, else fail.
apply_patch() {
    local label=$1 file=$2
    if git apply --ignore-whitespace --ignore-space-change "$file"; then
        echo "runner: applied $label patch $file"
    elif git apply --3way "$file"; then
        echo "runner: applied $label patch $file with --3way"
    else
        echo "ERROR: could not apply $label patch $file (plain and --3way both failed)" >&2
        exit 3
    fi
}

cd "$REPO_DIR"
git reset --hard -q
git clean -fdxq

if [ ! -f "$TESTS_PATCH" ]; then
    echo "ERROR: tests patch $TESTS_PATCH does not exist" >&2
    exit 2
fi
if is_empty "$TESTS_PATCH"; then
    echo "ERROR: tests patch $TESTS_PATCH is empty" >&2
    exit 2
fi

if [ -n "$FEATURE_PATCH" ]; then
    if [ ! -f "$FEATURE_PATCH" ]; then
        echo "ERROR: feature patch $FEATURE_PATCH does not exist" >&2
        exit 2
    fi
    if is_empty "$FEATURE_PATCH"; then
        echo "runner: feature patch $FEATURE_PATCH is empty; testing the base code"
    else
        apply_patch feature "$FEATURE_PATCH"
    fi
else
    echo "runner: no feature patch; testing the base code"
fi
apply_patch tests "$TESTS_PATCH"

# The test files the tests patch adds or changes: "+++ b/<path>" lines, .py files under tests/.
mapfile -t TEST_FILES < <(
    sed -n 's|^+++ b/||p' "$TESTS_PATCH" | sed 's/[[:space:]]*$//' \
        | grep -E '(^|/)tests/(.*/)?[^/]+\.py$' | grep -vE '(^|/)(conftest|__init__)\.py$' | sort -u || true
)
if [ ${#TEST_FILES[@]} -eq 0 ]; then
    echo "ERROR: tests patch $TESTS_PATCH touches no .py test file under tests/" >&2
    exit 4
fi

echo "runner: running ${TEST_FILES[*]}"
set +e
PYTHONDONTWRITEBYTECODE=1 python3 -m pytest -v -p no:cacheprovider "${TEST_FILES[@]}"
rc=$?
set -e
echo "runner: pytest exit code $rc"
exit "$rc"
