"""Which step sent each message of a job, and which step of its receiver it reached.

Upstream's agents (mini_swe_agent_v2, and the ``[Message from X]`` convention its swe_agent
and openhands adapters share) deliver a message in one of two places:

- at the start of the receiver's next step: ``step()`` empties the inbox before it calls the
  model and adds each message as a user turn ``[Message from X]: text`` (``[Message from X
  — X is BLOCKED ...]: text`` when X waits on a reply). The model call that follows is the
  step it reached: in ATIF, the first agent step after that user step.
- inside a ``send_message --wait`` observation: the waiting agent polls its own inbox and
  prints what came as ``[Reply from X]: text``; the step that waited received it.

A message the receiver never showed its model (it stayed in the inbox when the receiver
exited, or was read after its last model call) is undelivered. The sending step is the one
whose command holds the ``send_message`` call with that recipient and text. Repeated
identical messages are matched in order.
"""

import json
from dataclasses import dataclass

from coopbench.view.steps import Step

AFTER_LAST_STEP = "read after the receiver's last model call"
NEVER_READ = "never read: the receiver exited first"


@dataclass(frozen=True)
class MessageLink:
    number: int  # 1-based, in the conversation's order
    sender: str
    receiver: str
    text: str
    sent_at: str | None  # coopbench's UTC time of the send, when known
    sender_step: int | None  # None: no step's command shows the send
    receiver_step: int | None  # None: undelivered
    via: str  # "inbox", "reply", or why it was not delivered

    @property
    def delivered(self) -> bool:
        return self.receiver_step is not None


def match_messages(conversation: list[dict], steps: dict[str, list[Step]],
                   trailing: dict[str, list[str]] | None = None) -> list[MessageLink]:
    """``conversation``: conversation.json's entries (from, to, message, sent_at), in order;
    ``steps``: each agent's steps; ``trailing``: user text after an agent's last step."""
    claimed: set[tuple] = set()  # (agent, step, how, other agent, text): one message each
    links = []
    for number, entry in enumerate(conversation, start=1):
        sender, receiver = str(entry.get("from")), str(entry.get("to"))
        text = str(entry.get("message", ""))
        sent = _first_unclaimed(claimed, sender, steps, "sent", receiver, text)
        if sent is not None:
            claimed.add((sender, sent, "sent", receiver, text))
        # Read by inbox or as a reply to a wait: whichever came first.
        options = sorted((step, via) for via in ("inbox", "reply")
                         if (step := _first_unclaimed(claimed, receiver, steps, via, sender, text)) is not None)
        if options:
            receiver_step, via = options[0]
            claimed.add((receiver, receiver_step, via, sender, text))
        else:
            receiver_step, via = None, _why_undelivered((trailing or {}).get(receiver, []), sender, text)
        links.append(MessageLink(number, sender, receiver, text, entry.get("sent_at"), sent,
                                 receiver_step, via))
    return links


def _first_unclaimed(claimed: set, agent: str, steps: dict[str, list[Step]], how: str, other: str,
                     text: str) -> int | None:
    """The first step of ``agent`` that shows the message ``how`` and is not yet taken by an
    identical earlier message."""
    matches = {"sent": _sends, "inbox": _inbox, "reply": _reply}[how]
    for step in steps.get(agent, []):
        if (agent, step.number, how, other, text) not in claimed and matches(step, other, text):
            return step.number
    return None


def _sends(step: Step, receiver: str, text: str) -> bool:
    """A send_message call of the step to ``receiver`` with ``text``: as the ATIF converter
    read it from the command, else found in a command (verbatim in a heredoc or quotes;
    JSON-escaped in a legacy send_message tool call)."""
    if (receiver, text) in step.sends:
        return True
    escaped = json.dumps(text)[1:-1]
    return any("send_message" in command and receiver in command
               and (text in command or escaped in command) for command in step.commands)


def _inbox(step: Step, sender: str, text: str) -> bool:
    return any(_shown_message(shown, sender, text) for shown in step.received)


def _shown_message(shown: str, sender: str, text: str) -> bool:
    head = f"[Message from {sender}"
    return shown.startswith(head) and shown[len(head):len(head) + 1] in ("]", " ") \
        and shown.endswith(f"]: {text}")


def _reply(step: Step, sender: str, text: str) -> bool:
    return f"[Reply from {sender}]: {text}" in step.observation


def _why_undelivered(trailing: list[str], sender: str, text: str) -> str:
    return AFTER_LAST_STEP if any(_shown_message(t, sender, text) for t in trailing) else NEVER_READ
