"""The oracle in a real container of a demo task image: it must not lie about its patch."""

import uuid

import pytest

from coopbench.agents import AgentStatus, AgentTask
from coopbench.agents.oracle import OracleAgent
from coopbench.dataset.images import image_name
from coopbench.dataset.tasks import demo_dataset_path, load_tasks
from coopbench.sandbox.containers import open_sandbox

pytestmark = pytest.mark.docker

LEDGER = next(t for t in load_tasks(demo_dataset_path()) if t.repo == "ledger_task")


def _run_oracle(docker_client, demo_images, gold: dict[int, str], before: str = "true"):
    task = AgentTask(agent_id="solo" if len(gold) > 1 else "agent1", feature_ids=tuple(gold),
                     specs={f: "" for f in gold}, gold_patches=gold, partner_ids=(),
                     messaging=False, model=None, step_limit=1, cost_limit_usd=0.0,
                     command_timeout_s=60)
    name = f"coopbench-test-oracle-{uuid.uuid4().hex[:10]}"
    with open_sandbox(docker_client, image_name(demo_images, LEDGER.repo, LEDGER.task_id), name,
                      {"run": name}) as box:
        assert box.exec(before, timeout_s=30).returncode == 0
        return OracleAgent().run(task, box)


def test_a_stale_index_does_not_stop_a_gold_patch_that_applies(docker_client, demo_images):
    """As in an image whose repository was copied in or pulled: every file's stat data
    differs from the index's, and ``git apply --index`` alone says "does not match index"."""
    result = _run_oracle(docker_client, demo_images, {1: LEDGER.gold_patch(1)},
                         before="cd /workspace/repo && find . -path ./.git -prune -o -type f "
                                "-exec touch -d '2030-01-01' {} +")
    assert result.status == AgentStatus.submitted and result.error is None
    assert "+        self.overdraft_limit = overdraft_limit" in result.patch


def test_a_gold_patch_that_does_not_apply_is_an_error_with_the_reason(docker_client, demo_images):
    broken = LEDGER.gold_patch(1).replace("\n     ", "\n     NOT IN THE FILE ", 1)
    result = _run_oracle(docker_client, demo_images, {1: broken})
    assert result.status == AgentStatus.error
    assert result.error.startswith("gold patch of feature 1 does not apply cleanly")
    assert "patch does not apply" in result.error or "patch failed" in result.error
    assert result.patch == ""  # nothing applied, nothing claimed


def test_solo_gold_patches_that_conflict_are_an_error_and_keep_what_the_tree_holds(
        docker_client, demo_images):
    result = _run_oracle(docker_client, demo_images, {3: LEDGER.gold_patch(3), 4: LEDGER.gold_patch(4)})
    assert result.status == AgentStatus.error
    assert result.error.startswith("gold patch of feature 4 does not apply cleanly")
    assert "<<<<<<<" in result.patch  # the conflict markers the 3-way apply left
