"""An in-memory ``MessageChannel`` with the Redis bus's semantics, for agent-level tests.

(The Redis bus itself is tested in tests/bus; here the agent is under test.)
"""

import threading
import time

from coopbench.protocols import Message, SendReceipt
from coopbench.store.engine import utcnow


class MemoryBus:
    def __init__(self, agent_ids: tuple[str, ...]):
        self.agent_ids = agent_ids
        self.changed = threading.Condition()
        self.inboxes: dict[str, list[Message]] = {a: [] for a in agent_ids}
        self.finished: set[str] = set()
        self.sent: list[tuple[str, str, str, bool]] = []  # (from, to, content, delivered)

    def channel(self, agent_id: str) -> "MemoryChannel":
        return MemoryChannel(self, agent_id)


class MemoryChannel:
    def __init__(self, bus: MemoryBus, agent_id: str):
        self.bus = bus
        self.agent_id = agent_id

    def send(self, recipient: str, content: str, wait_s: float = 0.0) -> SendReceipt:
        bus = self.bus
        if recipient == self.agent_id or recipient not in bus.agent_ids:
            raise ValueError(f"unknown agent {recipient!r}: this job's agents are "
                             f"{', '.join(bus.agent_ids)}")
        with bus.changed:
            delivered = recipient not in bus.finished
            bus.sent.append((self.agent_id, recipient, content, delivered))
            if delivered:
                bus.inboxes[recipient].append(Message(self.agent_id, recipient, content, utcnow()))
                bus.changed.notify_all()
            if not delivered or wait_s <= 0:
                return SendReceipt(recipient, delivered)
            deadline = time.monotonic() + wait_s
            while not self._from(recipient) and recipient not in bus.finished:
                if not bus.changed.wait(max(0.0, deadline - time.monotonic())):
                    break
            return SendReceipt(recipient, True, reply=self._take(recipient))

    def receive(self) -> list[Message]:
        with self.bus.changed:
            return self._take(None)

    def finish(self) -> None:
        with self.bus.changed:
            self.bus.finished.add(self.agent_id)
            self.bus.changed.notify_all()

    def _from(self, sender: str) -> list[Message]:
        return [m for m in self.bus.inboxes[self.agent_id] if m.sender == sender]

    def _take(self, sender: str | None) -> list[Message]:
        inbox = self.bus.inboxes[self.agent_id]
        taken = [m for m in inbox if sender is None or m.sender == sender]
        self.bus.inboxes[self.agent_id] = [m for m in inbox if m not in taken]
        return taken
