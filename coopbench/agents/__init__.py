"""Agents by name: upstream's adapters (``cooperbench.agents.registry``, hosted), the oracle,
and coopbench's earlier mini-swe re-write under its own name."""

import os
from collections.abc import Callable

from coopbench.agents.base import Agent, AgentResult, AgentStatus, AgentTask
from coopbench.agents.oracle import OracleAgent
from coopbench.agents.upstream.hosted import DEFAULT_AGENT, HostedAgent, upstream_agent_names
from coopbench.errors import ConfigError


def _mini_swe_agent() -> Agent:
    # Imported on first use: it pulls in litellm and mini-swe-agent (seconds of import time),
    # which the CLI and oracle runs do not need. The package prints a banner on import unless
    # told not to; a worker's log is no place for it.
    os.environ.setdefault("MSWEA_SILENT_STARTUP", "1")
    from coopbench.agents.mini_swe import MiniSweAgent

    return MiniSweAgent()


# coopbench's own agents; every other name is looked up in upstream's registry.
AGENTS: dict[str, Callable[[], Agent]] = {"oracle": OracleAgent, "mini-swe-agent": _mini_swe_agent}


def get_agent(name: str) -> Agent | HostedAgent:
    if name in AGENTS:
        return AGENTS[name]()
    upstream = upstream_agent_names()
    if name in upstream:
        return HostedAgent(name)
    known = ", ".join([*upstream, *sorted(AGENTS)])
    raise ConfigError(f"unknown agent {name!r}; available: {known}")


def is_hosted(agent: object) -> bool:
    return getattr(agent, "hosted", False)


__all__ = ["AGENTS", "DEFAULT_AGENT", "Agent", "AgentResult", "AgentStatus", "AgentTask",
           "HostedAgent", "get_agent", "is_hosted"]
