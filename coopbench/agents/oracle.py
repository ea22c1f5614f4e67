"""The oracle: applies the gold patch(es) of its features; needs no LLM.

It exercises the real container path. Solo applies both gold patches in the order given.
Each goes in with ``git apply --index``, else ``git apply --3way``, after the index is
refreshed (an image whose repository was copied in or pulled has stale stat data, and
``--index`` then refuses a clean tree). A gold patch that does not apply, or that 3-way
merges only with conflicts (solo, when the second touches what the first changed), makes
the agent ``Error`` with git's reason; its patch is what the tree then holds, and it is
scored like any erring agent's.
"""

import shlex

from coopbench.agents.base import PATCH_FILE, AgentResult, AgentStatus, AgentTask
from coopbench.sandbox.containers import Sandbox
from coopbench.store.engine import utcnow

GOLD_DIR = "/tmp/coopbench-oracle"
SUBMIT = "COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT"
FAILED = "ORACLE_APPLY_FAILED"

APPLY_SCRIPT = """
set -u
cd /workspace/repo
git update-index -q --refresh >/dev/null 2>&1
base=$(git rev-parse HEAD)
failed=0
for patch in {patches}; do
  # --index stages each patch, so that --3way can merge the next one onto it
  if git apply --index "$patch" 2>/tmp/oracle-apply.err; then echo "applied $patch"
  elif git apply --3way "$patch" >>/tmp/oracle-apply.err 2>&1; then echo "applied $patch (3-way)"
  else echo "{failed} $patch"; cat /tmp/oracle-apply.err; failed=1
  fi
done
git add -A
git diff --cached "$base" > {gold_dir}/patch.txt
mv {gold_dir}/patch.txt {patch_file}
[ "$failed" = 0 ] && echo {submit}
"""


class OracleAgent:
    name = "oracle"

    def run(self, task: AgentTask, sandbox: Sandbox) -> AgentResult:
        started_at = utcnow()
        names = [f"gold_{fid}.patch" for fid in task.feature_ids]
        sandbox.put_files(GOLD_DIR, {
            name: task.gold_patches[fid] for name, fid in zip(names, task.feature_ids)
        })
        script = APPLY_SCRIPT.format(
            patches=" ".join(shlex.quote(f"{GOLD_DIR}/{name}") for name in names),
            gold_dir=GOLD_DIR, patch_file=PATCH_FILE, failed=FAILED, submit=SUBMIT,
        )
        executed = sandbox.exec(script, timeout_s=task.command_timeout_s)
        patch = sandbox.read_file(PATCH_FILE) or ""
        submitted = executed.returncode == 0 and SUBMIT in executed.output
        return AgentResult(
            agent_id=task.agent_id,
            feature_ids=task.feature_ids,
            status=AgentStatus.submitted if submitted else AgentStatus.error,
            started_at=started_at,
            ended_at=utcnow(),
            steps=1,
            cost_usd=0.0,
            patch=patch,
            error=None if submitted else _reason(executed.output, names, task.feature_ids),
            trajectory=[
                {"role": "user", "content": f"Apply the gold patch of features {list(task.feature_ids)}."},
                {"role": "tool", "content": executed.output,
                 "extra": {"returncode": executed.returncode, "command": script}},
                {"role": "exit", "content": "", "extra": {
                    "exit_status": "Submitted" if submitted else "Error", "submission": ""}},
            ],
        )


def _reason(output: str, names: list[str], feature_ids: tuple[int, ...]) -> str:
    """Which gold patch did not apply, and git's words for why."""
    failed = [fid for name, fid in zip(names, feature_ids) if f"{FAILED} {GOLD_DIR}/{name}" in output]
    if not failed:
        return f"the gold patches could not be applied: {output[-2000:]}"
    which = ", ".join(str(fid) for fid in failed)
    return f"gold patch of feature {which} does not apply cleanly: {output[-2000:]}"
