"""The interfaces that parts of the flow meet through, so that none imports another's internals.

``MessageChannel`` is what an agent is given to talk to its partners; ``coopbench.bus``
implements it over Redis, tests with an in-memory channel.
"""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol


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
