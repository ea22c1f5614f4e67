"""Agents by name. An agent is anything with ``run(task, sandbox) -> AgentResult``."""

import os
from collections.abc import Callable

from coopbench.agents.base import Agent, AgentResult, AgentStatus, AgentTask
from coopbench.agents.oracle import OracleAgent
from coopbench.errors import ConfigError


def _mini_swe_agent() -> Agent:
    # Imported on first use: it pulls in litellm and mini-swe-agent (seconds of import time),
    # which the CLI and oracle runs do not need. The package prints a banner on import unless
    # told not to; a worker's log is no place for it.
    os.environ.setdefault("MSWEA_SILENT_STARTUP", "1")
    from coopbench.agents.mini_swe import MiniSweAgent

    return MiniSweAgent()


AGENTS: dict[str, Callable[[], Agent]] = {"oracle": OracleAgent, "mini-swe-agent": _mini_swe_agent}


def get_agent(name: str) -> Agent:
    try:
        return AGENTS[name]()
    except KeyError:
        raise ConfigError(f"unknown agent {name!r}; available: {', '.join(sorted(AGENTS))}") from None


__all__ = ["AGENTS", "Agent", "AgentResult", "AgentStatus", "AgentTask", "get_agent"]
