"""One of upstream's adapters, by its registry name, as a coopbench agent."""

import importlib.util
import logging
import os
from importlib.metadata import version

from coopbench.agents.base import AgentResult
from coopbench.agents.upstream.calls import UpstreamCall
from coopbench.agents.upstream.containers import container_policy
from coopbench.errors import ConfigError, SandboxError
from coopbench.sandbox.cli_policy import CliContainerPolicy
from coopbench.sandbox.containers import Network
from coopbench.store import utcnow

log = logging.getLogger(__name__)

DEFAULT_AGENT = "mini_swe_agent_v2"  # upstream's default (its runner's ``agent_name``)
# Adapters that install their agent's CLI from a package registry when they start: they
# cannot work in a container without a network (``--sandbox-network none``).
NEEDS_NETWORK = frozenset({"claude_code", "codex", "swe_agent"})
# Adapters whose sandboxes are Modal's, whatever the backend: coopbench runs containers on
# the worker's Docker engine only.
MODAL_ONLY = frozenset({"openhands_sdk"})
# Adapters whose runtime upstream's package does not install (cooperbench 0.0.29): the
# module they import when they run, and the distribution that provides it.
NEEDS_PACKAGE = {"swe_agent": ("swerex", "swe-rex")}


def upstream_version() -> str:
    return version("cooperbench")


def upstream_agent_names() -> list[str]:
    """``cooperbench.agents.registry.list_agents()`` (importing it loads every adapter)."""
    os.environ.setdefault("MSWEA_SILENT_STARTUP", "1")
    from cooperbench.agents.registry import list_agents

    return list_agents()


class HostedAgent:
    """Runs upstream's adapter ``name`` with the call upstream's runner makes; the
    containers it starts follow coopbench's policy (``containers``)."""

    hosted = True

    def __init__(self, name: str):
        self.name = name

    def check_run(self, model: str | None, network: Network) -> None:
        """What is refused at enqueue, before anything is written."""
        if self.name in MODAL_ONLY:
            raise ConfigError(f"--agent {self.name}: upstream's adapter runs its sandboxes on "
                              "Modal only; coopbench runs agents on each worker's Docker engine")
        if self.name in NEEDS_PACKAGE:
            module, package = NEEDS_PACKAGE[self.name]
            if importlib.util.find_spec(module) is None:
                raise ConfigError(f"--agent {self.name} needs the {package} package, which "
                                  f"cooperbench {upstream_version()} does not install; coopbench "
                                  "does not run it (its SWE-ReX containers would not carry "
                                  "coopbench's labels either)")
        if not model:
            raise ConfigError(f"--agent {self.name} needs --model: a litellm model string, "
                              "e.g. openai/gpt-4o-mini")
        if network is Network.none and self.name in NEEDS_NETWORK:
            raise ConfigError(f"--agent {self.name} installs its CLI inside the container when "
                              "it starts, which --sandbox-network none forbids; use the default")

    def run(self, call: UpstreamCall, policy: CliContainerPolicy, feature_ids: tuple[int, ...]
            ) -> AgentResult:
        from cooperbench.agents.registry import get_runner

        started = utcnow()
        try:
            with container_policy(policy):
                result = get_runner(self.name).run(**call.kwargs())
        except Exception as error:
            # The adapter reports its agent's own failures as an Error result; what escapes
            # it is the setup (container start, git server, Redis): infrastructure, retried.
            raise SandboxError(f"{self.name} adapter for {call.agent_id} could not run: "
                               f"{error.__class__.__name__}: {error}") from error
        return AgentResult(
            agent_id=call.agent_id, feature_ids=feature_ids, status=result.status,
            started_at=started, ended_at=utcnow(), steps=result.steps, cost_usd=result.cost,
            patch=result.patch, error=result.error, input_tokens=result.input_tokens,
            output_tokens=result.output_tokens, cache_read_tokens=result.cache_read_tokens,
            cache_write_tokens=result.cache_write_tokens,
            messages_sent=len(result.sent_messages), trajectory=result.messages,
            sent_messages=result.sent_messages)
