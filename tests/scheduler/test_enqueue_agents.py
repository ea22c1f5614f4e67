"""``coopbench enqueue`` with upstream's agents: what each can run is checked before
anything is written; what a run of them records."""

import pytest
import yaml

from coopbench.dataset.tasks import demo_dataset_path
from coopbench.store import Run, Store
from tests.scheduler.test_enqueue import _row_counts
from tests.support.broker import queue_length

DEMO = demo_dataset_path()
NOTHING = {"runs": 0, "jobs": 0, "task_features": 0}


def _args(*extra: str) -> list[str]:
    return ["enqueue", "--dataset", str(DEMO), "--run", "R", "--repo", "ledger_task",
            "--features", "1,3", "--no-check-model", *extra]


@pytest.mark.parametrize("extra, says", [
    ([], "--agent mini_swe_agent_v2 needs --model"),  # upstream's default agent
    (["--agent", "nope", "--model", "m"], "available: claude_code, codex, mini_swe_agent_v2"),
    (["--agent", "oracle", "--settings", "coop-git"], "setting coop-git needs one of upstream's adapters"),
    (["--agent", "openhands_sdk", "--model", "m"], "runs its sandboxes on Modal only"),
    (["--agent", "swe_agent", "--model", "m"], "needs the swe-rex package"),
    (["--agent", "claude_code", "--model", "m", "--sandbox-network", "none"],
     "installs its CLI inside the container"),
    (["--model", "m", "--settings", "team", "--sandbox-network", "none"], "team needs a network"),
    (["--model", "m", "--settings", "coop-git", "--sandbox-network", "none"], "coop-git needs a network"),
    (["--model", "m", "--step-limit", "7"], "takes its limits from its config"),
])
def test_what_an_agent_cannot_run_is_refused_before_anything_is_written(
        cli, database_url, redis_client, queue, extra, says):
    refused = cli(*_args(*extra))
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert says in refused.stderr
    assert _row_counts(database_url) == NOTHING
    assert queue_length(redis_client, queue) == 0


def test_a_run_records_upstreams_config_document_as_is_and_the_team_switches(
        cli, database_url, tmp_path):
    document = {"config": {"agent": {"step_limit": 40}, "model": {"model_kwargs": {"temperature": 0}}}}
    config = tmp_path / "coop.yaml"
    config.write_text(yaml.safe_dump(document))
    done = cli(*_args("--model", "openai/x", "--settings", "coop,coop-git,team",
                      "--agent-config", str(config), "--team-no-scratchpad", "--team-no-mcp"))
    assert done.returncode == 0, done.stderr
    store = Store(database_url)
    with store.session() as session:
        run = session.get(Run, "R")
    assert run.agent == "mini_swe_agent_v2"
    assert run.config["agent_config"] == document  # upstream reads its own nesting
    assert run.config["team_features"] == {"scratchpad": False, "mcp": False}
    assert sorted(run.settings) == ["coop", "coop-git", "team"]


def test_resuming_a_run_with_other_team_switches_is_refused_and_says_which(cli, database_url):
    assert cli(*_args("--model", "openai/x", "--settings", "team", "--team-no-mcp")).returncode == 0
    before = _row_counts(database_url)
    refused = cli(*_args("--model", "openai/x", "--settings", "team"))
    assert refused.returncode == 2
    assert "team switches '--team-no-mcp' (asked 'none')" in refused.stderr, refused.stderr
    assert _row_counts(database_url) == before


def test_upstreams_own_coop_yaml_is_taken_as_it_is(cli, database_url):
    from cooperbench.agents.mini_swe_agent_v2.config import get_config_path

    path = get_config_path("coop")
    done = cli(*_args("--model", "openai/x", "--settings", "coop", "--agent-config", str(path)))
    assert done.returncode == 0, done.stderr
    with Store(database_url).session() as session:
        assert session.get(Run, "R").config["agent_config"] == yaml.safe_load(path.read_text())
