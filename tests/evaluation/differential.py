"""The differential test's inputs and its scoring, which runs beside the rest of the suite.

Scoring 82 cases twice (upstream's package, then coopbench) runs about 330 test runs in
containers of the real task image: ten minutes of CPU on two cores, where most other tests
spend their time waiting on leases, timeouts and polls. So ``tests/conftest.py`` starts the
scoring in background threads when the session starts (if the differential test was
collected) and runs the differential test last, to compare what was found.
"""

import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import docker

from coopbench.errors import SandboxError
from coopbench.evaluation.evaluate import EvalInput, Scoring, evaluate
from tests.support.real_task import REPO, TASK_ID, SoloPatches, all_pairs, read_feature

MODULE = "test_upstream_differential.py"
PARALLEL = 3  # evaluations at once: enough to keep its share of two cores busy
EDGE_CASES = ["coop-second-empty", "coop-first-empty", "coop-both-empty", "coop-identical",
              "coop-edits-tests", "coop-does-not-apply", "coop-defects-repaired",
              "coop-too-big-to-write", "solo-defects-repaired", "solo-edits-tests", "solo-empty"]


def case_ids(fixtures: Path) -> list[str]:
    gold = [f"{setting}-gold-{a}-{b}" for a, b in all_pairs(fixtures) for setting in ("coop", "solo")]
    return gold + EDGE_CASES


def cases(fixtures: Path, solo_patches: SoloPatches) -> dict[str, tuple[str, tuple[int, int], dict]]:
    """id -> (setting, features, patches by feature id; solo: both ids map to the one patch)."""
    def gold(fid: int) -> str:
        return read_feature(fixtures, fid, "feature.patch")

    found = {}
    for a, b in all_pairs(fixtures):
        found[f"coop-gold-{a}-{b}"] = ("coop", (a, b), {a: gold(a), b: gold(b)})
        solo = solo_patches.patch((a, b))
        found[f"solo-gold-{a}-{b}"] = ("solo", (a, b), {a: solo, b: solo})
    broken = gold(2).replace("\n ", "\n CHANGED CONTEXT ", 1)  # a context line that is not there
    defective = gold(2).replace("'", "'\\''").rstrip("\n")  # shell-escaped quotes, no newline
    with_tests = gold(2) + read_feature(fixtures, 2, "tests.patch")  # the agent wrote tests too
    big = gold(2) + _new_file("dirty_equals/_table.py", 150_000)  # over 128 KiB: upstream's limit
    assert broken != gold(2) and defective != gold(2)
    found |= {
        "coop-second-empty": ("coop", (2, 3), {2: gold(2), 3: ""}),
        "coop-first-empty": ("coop", (2, 3), {2: "", 3: gold(3)}),
        "coop-both-empty": ("coop", (2, 3), {2: "", 3: ""}),
        "coop-identical": ("coop", (2, 3), {2: gold(2), 3: gold(2)}),
        "coop-edits-tests": ("coop", (2, 3), {2: with_tests, 3: ""}),
        "coop-does-not-apply": ("coop", (2, 3), {2: broken, 3: gold(3)}),
        "coop-defects-repaired": ("coop", (2, 3), {2: defective, 3: ""}),
        "coop-too-big-to-write": ("coop", (2, 3), {2: big, 3: gold(3)}),
        "solo-defects-repaired": ("solo", (2, 4), {2: defective, 4: defective}),
        "solo-edits-tests": ("solo", (2, 4), {2: with_tests, 4: with_tests}),
        "solo-empty": ("solo", (2, 4), {2: "", 4: ""}),
    }
    assert list(found) == case_ids(fixtures)
    return found


def _new_file(path: str, size_bytes: int) -> str:
    lines = [f"ROW_{i} = {i}\n" for i in range(size_bytes // 12)]
    return (f"diff --git a/{path} b/{path}\nnew file mode 100644\n--- /dev/null\n+++ b/{path}\n"
            f"@@ -0,0 +1,{len(lines)} @@\n" + "".join(f"+{line}" for line in lines))


class Differential:
    """Every case scored by both sides, in background threads: ``results()`` waits for them."""

    def __init__(self, client: docker.DockerClient, fixtures: Path, image: str, workdir: Path):
        self.client, self.fixtures, self.image = client, fixtures, image
        self.cases = cases(fixtures, SoloPatches(fixtures, workdir))
        self.run = f"test-differential-{uuid.uuid4().hex[:8]}"  # the containers' run label
        self.tests = {fid: read_feature(fixtures, fid, "tests.patch")
                      for _, features, _ in self.cases.values() for fid in features}
        self.pool = ThreadPoolExecutor(PARALLEL, thread_name_prefix="differential")
        self.futures: dict[tuple[str, str], Future] = {}
        self.started = time.monotonic()
        self.spans: dict[tuple[str, str], tuple[float, float]] = {}  # seconds from the start
        self.rescored: dict[str, str] = {}  # case -> the infrastructure error of its first try

    def start(self) -> None:
        for case in self.cases:
            self.futures[case, "upstream"] = self.pool.submit(self._timed, case, self.upstream)
            self.futures[case, "coopbench"] = self.pool.submit(self._timed, case, self.coopbench)

    def _timed(self, case: str, side) -> dict:
        """When each side scored each case: a failure's report says whether it overlapped
        another's, or stalled."""
        begun = time.monotonic() - self.started
        try:
            return side(case)
        finally:
            self.spans[case, side.__name__] = (begun, time.monotonic() - self.started)

    def describe(self, case: str) -> str:
        """One line per side for a failure's report: when it ran and what it answered."""
        lines = []
        for side in ("upstream", "coopbench"):
            begun, ended = self.spans.get((case, side), (float("nan"), float("nan")))
            result = self.futures[case, side].result()
            lines.append(f"{case} {side}: {begun:.0f}-{ended:.0f} s, merge "
                         f"{result.get('merge', {}).get('status')}, error {result.get('error')!r}"[:600])
        return "\n".join(lines)

    def results(self) -> dict[str, tuple[dict, dict]]:
        """id -> (upstream's result, coopbench's eval.json). A case whose coopbench side met
        an infrastructure error (the engine failed it, which a worker retries) is scored
        again on both sides, once: what upstream's side saw then is suspect too."""
        found = {}
        for case in self.cases:
            try:
                found[case] = (self.futures[case, "upstream"].result(),
                               self.futures[case, "coopbench"].result())
            except SandboxError as error:
                self.rescored[case] = str(error)
                found[case] = (self.upstream(case), self.coopbench(case))
        return found

    def stop(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)

    def upstream(self, case: str) -> dict:
        """As upstream's `cooperbench eval` calls it: its own Docker backend, the fixture dataset."""
        from cooperbench.eval.sandbox import test_merged, test_solo

        setting, (a, b), patches = self.cases[case]
        if setting == "solo":
            return test_solo(REPO, TASK_ID, a, b, patch=patches[a], dataset_dir=self.fixtures)
        return test_merged(REPO, TASK_ID, a, b, patch1=patches[a], patch2=patches[b],
                           dataset_dir=self.fixtures)

    def coopbench(self, case: str) -> dict:
        setting, features, patches = self.cases[case]
        spec = EvalInput(
            repo=REPO, task_id=TASK_ID, features=features, patches=patches,
            scoring=Scoring.solo if setting == "solo" else Scoring.merged,
            tests_patches={fid: self.tests[fid] for fid in features}, image=self.image,
            labels={"run": self.run, "job": case, "role": "eval"},
            container_name=f"coopbench-test-diff-{uuid.uuid4().hex[:10]}")
        return evaluate(self.client, spec).eval_json
