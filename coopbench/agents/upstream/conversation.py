"""conversation.json of upstream's agents: upstream's extraction, plus when each message was
sent (coopbench's ``sent_at``, read from the sender's trajectory, which the agents never see)."""

import json
from datetime import UTC, datetime

from coopbench.agents.base import AgentResult


def upstream_conversation(results: list[AgentResult], team: bool = False) -> list[dict]:
    """conversation.json as upstream's runner builds it (``runner/coop.py``), each message
    sent through the connector also given coopbench's ``sent_at`` (below).

    ``team``: upstream's team runner (``runner/team.py``) hands the extraction no
    ``sent_messages``, so only what the trajectories' text shows is found; kept so, as
    upstream writes it and counts it in ``messages_sent``."""
    from cooperbench.runner.coop import _extract_conversation, _message_timestamp_key

    by_agent = {r.agent_id: {"feature_id": r.feature_ids[0], "messages": r.trajectory}
                | ({} if team else {"sent_messages": r.sent_messages}) for r in results}
    sent = [m for m in _extract_conversation(by_agent, list(by_agent)) if not m.get("received")]
    sent.sort(key=_message_timestamp_key)
    times = {r.agent_id: send_times(r) for r in results}
    for message in sent:
        pending = times.get(message["from"], [])
        for i, (to, content, sent_at) in enumerate(pending):
            if (to, content) == (message["to"], message["message"]):
                message["sent_at"] = sent_at
                del pending[i]
                break
    return sent


SENT = "Message sent to "  # the observation of a delivered send (mini_swe_agent_v2)


def send_times(result: AgentResult) -> list[tuple[str, str, str]]:
    """(to, content, UTC time) of each of the agent's sent messages, from its trajectory:
    the n-th observation saying "Message sent to X" is the n-th sent message, and its time
    is when the send returned. Empty when the two do not line up (another adapter)."""
    stamps = []
    for message in result.trajectory:
        if message.get("role") != "tool":
            continue
        output = _observation_output(str(message.get("content") or ""))
        stamp = (message.get("extra") or {}).get("timestamp")
        if output.startswith(SENT) and isinstance(stamp, int | float):
            stamps.append((output[len(SENT):].split("\n", 1)[0].strip(), stamp))
    sent = [(m.get("to"), m.get("content")) for m in result.sent_messages]
    if len(stamps) != len(sent) or any(to != stamp_to for (to, _), (stamp_to, _) in zip(sent, stamps)):
        return []
    return [(to, content, datetime.fromtimestamp(stamp, UTC).isoformat())
            for (to, content), (_, stamp) in zip(sent, stamps)]


def _observation_output(content: str) -> str:
    try:
        return str(json.loads(content).get("output", ""))
    except (ValueError, AttributeError):
        return content
