"""The agent config's keys, secrets refused, and the prompts each setting renders."""

import pytest
from jinja2 import StrictUndefined, Template

from coopbench.agents import AGENTS
from coopbench.agents.mini_swe import task_text
from coopbench.agents.mini_swe_settings import MiniSweSettings
from coopbench.errors import ConfigError
from coopbench.secrets import redact
from tests.agents.conftest import API_KEY


def _render(template: str, **variables) -> str:
    defaults = {"task": "THE TASK", "agent_id": "solo", "partner_ids": [], "messaging": False,
                "message_wait_s": 60.0, "command_timeout_s": 3600.0}
    return Template(template, undefined=StrictUndefined).render(**(defaults | variables))


def test_registered_under_its_name():
    assert AGENTS["mini-swe-agent"]().name == "mini-swe-agent"


@pytest.mark.parametrize("config", [
    {"model_kwargs": {"api_key": "x"}},
    {"model_kwargs": {"extra_headers": {"Authorization": "Bearer x"}}},
    {"aws_secret_access_key": "x"},
    {"model_kwargs": {"token": "x"}},
])
def test_secrets_in_the_agent_config_are_refused(config):
    with pytest.raises(ConfigError, match="environment variables of the worker"):
        MiniSweSettings.parse(config)


def test_prices_and_token_counts_are_not_mistaken_for_secrets():
    settings = MiniSweSettings.parse({
        "model_prices": {"input_cost_per_token": 1e-6, "output_cost_per_token": 2e-6},
        "model_kwargs": {"max_tokens": 512, "api_base": "http://llm:8000/v1", "temperature": 0},
    })
    assert settings.model_prices["input_cost_per_token"] == 1e-6


def test_unknown_keys_are_an_error():
    with pytest.raises(ConfigError, match="step_limt"):
        MiniSweSettings.parse({"step_limt": 5})


def test_limits_default_to_the_run_and_can_be_overridden(make_task):
    task = make_task(step_limit=100, cost_limit_usd=3.0)
    assert MiniSweSettings.parse({}).step_limit_for(task) == 100
    overridden = MiniSweSettings.parse({"step_limit": 7, "cost_limit_usd": 0.5, "command_timeout_s": 9})
    assert overridden.step_limit_for(task) == 7
    assert overridden.cost_limit_for(task) == 0.5
    assert overridden.command_timeout_for(task) == 9


def test_task_text_solo_blocks_and_coop_own_spec(make_task):
    solo = task_text(make_task(features=(2, 1)))
    assert solo.startswith("## Feature 2\n\n**Title**")
    assert "\n\n---\n\n## Feature 1\n\n**Title**: Add an overdraft limit" in solo
    coop = task_text(make_task("agent1", (1,), ("agent2",)))
    assert coop.startswith("**Title**: Add an overdraft limit")


def test_prompts_per_setting():
    templates = MiniSweSettings.parse({}).templates()
    solo = _render(templates["instance_template"])
    coop = _render(templates["instance_template"], agent_id="agent1", partner_ids=["agent2"],
                   messaging=True, message_wait_s=45)
    nocomm = _render(templates["instance_template"], agent_id="agent2", partner_ids=["agent1"])
    for prompt in (solo, coop, nocomm):
        assert "THE TASK" in prompt and "echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT" in prompt
        assert "git diff" in prompt and "patch.txt" in prompt and "rm -rf .git" in prompt
        assert "bash -lc" in prompt and "/workspace/repo" in prompt
        assert "Darwin" not in prompt and "sed -i ''" not in prompt
    assert "You are **solo**" in solo and "teammate" not in solo
    assert "You are **agent1**" in coop and "**agent2**" in coop and "git merge" in coop
    assert "send_message agent2 <<'MSG'" in coop and 'send_message agent2 "' in coop
    assert "45 seconds" in coop and "[Message from <name>]" in coop and "never write it" in coop
    assert "## Messaging" not in nocomm and "cannot talk" in nocomm and "git merge" in nocomm
    assert "teammate" in _render(templates["system_template"], partner_ids=["agent2"])


def test_templates_from_the_agent_config_replace_ours():
    templates = MiniSweSettings.parse({"system_template": "Be brief, {{ agent_id }}."}).templates()
    assert _render(templates["system_template"]) == "Be brief, solo."
    assert "returncode" in templates["observation_template"]  # mini-swe-agent's format


def test_redact_replaces_secret_environment_values(provider_key):
    assert redact({"text": f"key {API_KEY} here", "n": 1}) == {"text": "key <redacted> here", "n": 1}
