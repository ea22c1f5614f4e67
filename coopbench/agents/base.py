"""What every agent is given and what it gives back.

An agent runs in the worker process; it acts on the task only through its ``Sandbox``
(a container of the task image). Its patch is whatever it leaves in ``patch.txt``.
"""

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from coopbench.protocols import MessageChannel
from coopbench.sandbox.containers import Sandbox

PATCH_FILE = "/workspace/repo/patch.txt"


class AgentStatus(enum.StrEnum):
    submitted = "Submitted"
    limits_exceeded = "LimitsExceeded"
    error = "Error"


@dataclass(frozen=True)
class AgentTask:
    """Everything an agent may know: its features' specs, partner, limits.

    ``gold_patches`` is for the oracle only; real agents never read it.
    """

    agent_id: str
    feature_ids: tuple[int, ...]
    specs: dict[int, str]
    gold_patches: dict[int, str]
    partner_ids: tuple[str, ...]
    messaging: bool
    model: str | None
    step_limit: int
    cost_limit_usd: float
    command_timeout_s: float
    agent_config: dict = field(default_factory=dict)  # the run's --agent-config YAML, parsed
    channel: MessageChannel | None = None  # coop with messaging only


@dataclass
class AgentResult:
    agent_id: str
    feature_ids: tuple[int, ...]
    status: AgentStatus | str  # an upstream adapter's own status string, as it gave it
    started_at: datetime
    ended_at: datetime
    steps: int = 0
    cost_usd: float | None = 0.0  # None: the model could not be priced
    patch: str = ""
    error: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    messages_sent: int = 0
    messages_received: int = 0
    trajectory: list[dict] = field(default_factory=list)
    sent_messages: list[dict] = field(default_factory=list)  # an upstream adapter's, as it gave them
    provider_wait_s: float = 0.0  # its model calls' time at the shared provider limits

    @property
    def patch_lines(self) -> int:
        return len(self.patch.splitlines())


class Agent(Protocol):
    name: str

    def run(self, task: AgentTask, sandbox: Sandbox) -> AgentResult: ...
