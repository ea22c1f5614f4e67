"""An agent's messaging, between its model and the ``MessageChannel`` (coop with messaging).

Incoming messages become user messages before each LLM call; ``send_message`` calls in a
bash command are taken out of it (``send_message.extract_sends``) and sent through the
channel, and the tool result reports each send. The texts the model sees are built here.
"""

import logging
from dataclasses import dataclass, field

from coopbench.agents.send_message import extract_sends
from coopbench.protocols import Message, MessageChannel

log = logging.getLogger(__name__)


def received_text(message: Message) -> str:
    return f"[Message from {message.sender}]: {message.content}"


@dataclass
class SendOutcome:
    lines: list[str] = field(default_factory=list)  # what the tool result reports
    remainder: str = ""  # the rest of the command, to run in the container
    failed: bool = False  # a send was refused: the rest is not run


class Messenger:
    def __init__(self, channel: MessageChannel, wait_s: float):
        self.channel = channel
        self.wait_s = wait_s
        self.sent = 0  # sends the channel accepted (delivered or not)
        self.received = 0  # messages shown to the model, inbox and --wait replies

    def take_inbox(self) -> list[dict]:
        """The waiting messages as user messages, oldest first (upstream's shape: no extra)."""
        messages = self.channel.receive()
        self.received += len(messages)
        return [{"role": "user", "content": received_text(m)} for m in messages]

    def send_from(self, command: str) -> SendOutcome | None:
        """Send what ``command`` asks to send; None if it holds no ``send_message``."""
        sends, remainder = extract_sends(command)
        if not sends:
            return None
        outcome = SendOutcome(remainder=remainder)
        for send in sends:
            try:
                receipt = self.channel.send(send.recipient, send.text,
                                            wait_s=self.wait_s if send.wait else 0.0)
            except ValueError as error:  # unknown recipient, or oneself
                outcome.lines.append(f"Error: message not sent: {error}")
                outcome.failed = True
                return outcome
            self.sent += 1
            outcome.lines += self._report(send.recipient, receipt, send.wait)
        return outcome

    def _report(self, recipient: str, receipt, waited: bool) -> list[str]:
        if not receipt.delivered:
            return [f"Message to {recipient} not delivered: {recipient} has already finished "
                    "its work and will not read it."]
        lines = [f"Message sent to {recipient}"]
        if waited:
            self.received += len(receipt.reply)
            lines += [received_text(m) for m in receipt.reply] or [
                f"No reply from {recipient} within {self.wait_s:g} seconds."]
        return lines
