"""The gold check: do the two gold patches of a pair merge cleanly? (reference 6.9)

Like upstream's ``scripts/check_gold_conflicts.py``: both gold patches, repaired and
test-filtered as evaluation does, each applied on its own branch from the base commit
(``git apply --ignore-whitespace``, else ``--3way``), then a naive merge of agent1 into
agent2. No tests. A gold check is a run whose jobs have the setting ``gold``, so it is
queued, claimed, retried and resumed like any other run, and its report is written from
the store.
"""

import logging
import re
from collections import defaultdict

from sqlalchemy import select

from coopbench.evaluation.patches import TestFilter, prefilter
from coopbench.job.services import Services
from coopbench.job.spec import JobSpec
from coopbench.sandbox.containers import open_sandbox
from coopbench.store import Job, JobState, Store
from coopbench.store.claims import Claim
from coopbench.store.results import record_done

log = logging.getLogger(__name__)

MERGE_TIMEOUT_S = 300
PATCH_DIR = "/patches"

# Upstream's check, step by step: the branches from HEAD, each patch applied as it applies
# them, then the merge; the markers are its output lines.
GOLD_MERGE = r"""
set -u
cd /workspace/repo
git config user.email eval@cooperbench.local && git config user.name "CooperBench Eval"
BASE_SHA=$(git rev-parse HEAD) || exit 90
echo "BASE_SHA=$BASE_SHA"
branch() {  # $1 branch, $2 patch number
  git checkout -q "$BASE_SHA" && git checkout -q -b "$1"
  patch=/patches/patch$2.patch
  if [ -s "$patch" ]; then
    git apply --ignore-whitespace "$patch" 2>/tmp/apply.err \
      || git apply --3way "$patch" 2>>/tmp/apply.err \
      || { echo "PATCH$2_APPLY_FAILED"; cat /tmp/apply.err; git reset -q --hard; git clean -fdq; }
  fi
  git add -A && git commit -q --allow-empty -m "$1"
}
branch agent1 1
branch agent2 2
echo SETUP_COMPLETE
if git merge agent1 --no-commit --no-ff >/tmp/merge.out 2>&1; then
  echo MERGE_RESULT=clean
else
  cat /tmp/merge.out
  echo MERGE_RESULT=conflict
fi
"""


def run_gold_merge(spec: JobSpec, claim: Claim, services: Services) -> None:
    """Merge the pair's gold patches in a container of the task image; record the outcome."""
    from coopbench.evaluation.upstream import filter_test_files, sanitise  # takes seconds

    low, high = sorted(spec.feature_ids)  # agent1 has the lower feature id, as in coop (pairs:
    # upstream's gold report is of pairs, and enqueue makes pairs)
    test_filter = TestFilter.of_run(spec.run.config)

    def gold(fid: int) -> str:
        return filter_test_files(sanitise(prefilter(spec.features[fid].gold_patch, test_filter)))

    attempt = str(claim.attempt_number)
    with open_sandbox(services.docker, spec.image, spec.container_name(attempt, "gold"),
                      spec.labels(attempt, "gold", services.worker_name),
                      spec.sandbox_network, services.sandbox_limits) as box:
        box.put_files(PATCH_DIR, {"patch1.patch": gold(low), "patch2.patch": gold(high)})
        merged = box.exec(GOLD_MERGE, timeout_s=MERGE_TIMEOUT_S, kill_on_timeout=True)
    outcome = gold_outcome(merged.output, merged.killed)
    merge_status = ("error" if outcome["error"] else
                    "conflicts" if outcome["has_conflict"] else "clean")
    record_done(services.store, claim, {"result": outcome, "merge_status": merge_status},
                {"gold/merge.log": merged.output})


def gold_outcome(output: str, killed: bool = False) -> dict:
    """One entry of the report's ``all_results``, minus the pair, from the merge script's output."""
    if killed or "MERGE_RESULT=" not in output or not re.search(r"^BASE_SHA=\w+", output, re.M):
        return {"has_conflict": None, "patch1_apply_failed": None, "patch2_apply_failed": None,
                "error": "merge setup failed: " + (output[-500:] or "no output")}
    return {
        "has_conflict": "MERGE_RESULT=conflict" in output,
        "patch1_apply_failed": "PATCH1_APPLY_FAILED" in output,
        "patch2_apply_failed": "PATCH2_APPLY_FAILED" in output,
        "error": None,
    }


def gold_report(store: Store, run_name: str) -> dict:
    """The report in the schema of upstream's ``gold_conflict_report.json``.

    Lists are in completion order, as upstream's; a job that could not run at all
    (failed, failed_infra) is an error entry.
    """
    with store.session() as session:
        jobs = session.scalars(
            select(Job).where(Job.run_name == run_name)
            .order_by(Job.finished_at, Job.repo, Job.task_id, Job.id)
        ).all()
    results = []
    for job in jobs:
        if job.state not in (JobState.done, JobState.failed, JobState.failed_infra):
            continue
        low, high = sorted(job.features)
        outcome = job.result if job.state == JobState.done and job.result else {
            "has_conflict": None, "patch1_apply_failed": None, "patch2_apply_failed": None,
            "error": job.error or job.state}
        results.append({"repo": job.repo, "task_id": job.task_id, "f1": low, "f2": high, **outcome})
    per_task: dict[str, dict] = defaultdict(lambda: {"total": 0, "conflicts": 0, "clean": 0, "errors": 0})
    for entry in results:
        counts = per_task[f"{entry['repo']}/task{entry['task_id']}"]
        counts["total"] += 1
        counts[_kind(entry)] += 1
    conflicts = sum(1 for e in results if _kind(e) == "conflicts")
    clean = sum(1 for e in results if _kind(e) == "clean")
    started = [j.started_at for j in jobs if j.started_at]
    finished = [j.finished_at for j in jobs if j.finished_at]
    return {
        "summary": {
            "total_pairs": len(results), "conflicts": conflicts, "clean_merges": clean,
            "errors": len(results) - conflicts - clean,
            "conflict_rate": f"{100 * conflicts / len(results):.1f}%" if results else "0.0%",
            "elapsed_seconds": round((max(finished) - min(started)).total_seconds(), 1)
            if started and finished else 0.0,
        },
        "per_task": dict(per_task),
        "conflict_pairs": [{k: e[k] for k in ("repo", "task_id", "f1", "f2")}
                           for e in results if _kind(e) == "conflicts"],
        "all_results": results,
    }


def _kind(entry: dict) -> str:
    if entry["error"] is not None or entry["has_conflict"] is None:
        return "errors"
    return "conflicts" if entry["has_conflict"] else "clean"
