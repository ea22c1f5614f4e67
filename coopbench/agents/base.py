"""What every agent is given and what it gives back.

An agent runs in the worker process; it acts on the task only through its ``Sandbox``
(a container of the task image). Its patch is whatever it leaves in ``patch.txt``.
"""

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from coopbench.sandbox import Sandbox

PATCH_FILE = "/workspace/repo/patch.txt"


@dataclass(frozen=True)
class Message:
    """One message between agents, as the bus recorded it."""

    sender: str
    recipient: str
    content: str
    sent_at: datetime
    delivered_at: datetime | None = None  # when the recipient's agent took it into its context
    delivered: bool | None = None  # False: the recipient had finished; None: still pending


@dataclass(frozen=True)
class SendReceipt:
    recipient: str
    delivered: bool  # False: the recipient has already finished and will never read it
    reply: list[Message] = field(default_factory=list)  # what ``send(..., wait_s=...)`` got back


class MessageChannel(Protocol):
    """One agent's end of the message bus (coop with messaging only)."""

    agent_id: str

    def send(self, recipient: str, content: str, wait_s: float = 0.0) -> SendReceipt:
        """Send; with ``wait_s`` > 0, block until a message from ``recipient`` arrives or the
        time is up (the reply is then taken from the inbox and returned in the receipt)."""
        ...

    def receive(self) -> list[Message]:
        """Take every message waiting for this agent, oldest first (marks them delivered)."""
        ...

    def finish(self) -> None:
        """This agent is done: later messages to it are recorded as undelivered."""
        ...


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
    status: AgentStatus
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

    @property
    def patch_lines(self) -> int:
        return len(self.patch.splitlines())


class Agent(Protocol):
    name: str

    def run(self, task: AgentTask, sandbox: Sandbox) -> AgentResult: ...
