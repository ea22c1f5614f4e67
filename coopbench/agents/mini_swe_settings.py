"""The ``mini-swe-agent`` agent's settings: defaults, overridden by the run's --agent-config.

Every key the agent config may hold is a field below; anything else is a ConfigError, as is
a key whose name looks like a secret (API keys belong in the worker's environment, where
litellm reads them, never in a config that is stored with the run).
"""

from importlib import resources
from typing import Any

import yaml
from minisweagent.config import builtin_config_dir
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from coopbench.agents.base import AgentTask
from coopbench.errors import ConfigError
from coopbench.secrets import secret_keys


class MiniSweSettings(BaseModel):
    """Keys of --agent-config for ``--agent mini-swe-agent`` (all optional)."""

    model_config = ConfigDict(extra="forbid")

    step_limit: int | None = Field(None, ge=0, description="LLM calls (0 = off); default: the run's --step-limit")
    cost_limit_usd: float | None = Field(None, ge=0, description="USD (0 = off); default: the run's --cost-limit")
    command_timeout_s: float | None = Field(
        None, gt=0, description="per bash command; default: the worker's agent_timeout_s"
    )
    message_wait_s: float = Field(60.0, ge=0, description="how long `send_message --wait` blocks for a reply")
    max_consecutive_format_errors: int = Field(
        0, ge=0, description="stop after this many malformed replies in a row (0 = off, as upstream)"
    )
    system_template: str | None = Field(None, description="Jinja text replacing our system prompt")
    instance_template: str | None = Field(None, description="Jinja text replacing our task prompt")
    observation_template: str | None = Field(
        None, description="Jinja text for tool results (default: mini-swe-agent's)"
    )
    format_error_template: str | None = Field(
        None, description="Jinja text for malformed replies (default: mini-swe-agent's)"
    )
    model_kwargs: dict[str, Any] = Field(
        default_factory=dict, description="extra litellm.completion arguments, e.g. api_base, temperature"
    )
    model_prices: dict[str, Any] | None = Field(
        None,
        description="litellm model_info for a model litellm cannot price, "
        "e.g. input_cost_per_token, output_cost_per_token",
    )
    retry_attempts: int = Field(6, ge=1, description="LLM calls per step on rate limits / 5xx / connection errors")
    retry_base_delay_s: float = Field(2.0, ge=0, description="first backoff delay; doubles each retry, plus jitter")
    retry_max_delay_s: float = Field(60.0, ge=0, description="cap on one backoff delay")

    @classmethod
    def parse(cls, agent_config: dict | None) -> "MiniSweSettings":
        agent_config = agent_config or {}
        secrets = sorted(secret_keys(agent_config))
        if secrets:
            raise ConfigError(
                f"the agent config holds what looks like a secret ({', '.join(secrets)}); "
                "it would be stored with the run. Set API keys as environment variables of the "
                "worker processes instead (e.g. OPENAI_API_KEY, ANTHROPIC_API_KEY), where litellm reads them"
            )
        try:
            return cls.model_validate(agent_config)
        except ValidationError as error:
            raise ConfigError(f"invalid agent config for mini-swe-agent: {error}") from None

    def step_limit_for(self, task: AgentTask) -> int:
        return self.step_limit if self.step_limit is not None else task.step_limit

    def cost_limit_for(self, task: AgentTask) -> float:
        return self.cost_limit_usd if self.cost_limit_usd is not None else task.cost_limit_usd

    def command_timeout_for(self, task: AgentTask) -> float:
        return self.command_timeout_s or task.command_timeout_s

    def templates(self) -> dict[str, str]:
        """The four prompt templates: the config's, else ours, else mini-swe-agent's."""
        upstream = _mini_swe_model_templates()
        return {
            "system_template": self.system_template or _prompt("mini_swe_system.jinja"),
            "instance_template": self.instance_template or _prompt("mini_swe_instance.jinja"),
            "observation_template": self.observation_template or upstream["observation_template"],
            "format_error_template": self.format_error_template or upstream["format_error_template"],
        }


def _prompt(name: str) -> str:
    return resources.files("coopbench.agents").joinpath("prompts", name).read_text(encoding="utf-8")


def _mini_swe_model_templates() -> dict[str, str]:
    """The tool-result and format-error templates of mini-swe-agent's default config: the
    observation format of reference 2.5 and the upstream "Tool call error" message."""
    config = yaml.safe_load((builtin_config_dir / "mini.yaml").read_text())
    return {key: config["model"][key] for key in ("observation_template", "format_error_template")}
