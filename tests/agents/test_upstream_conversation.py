"""conversation.json of upstream's agents: upstream's own extraction, plus ``sent_at``."""

import json
from datetime import UTC, datetime

from coopbench.agents.base import AgentResult, AgentStatus
from coopbench.agents.upstream.conversation import upstream_conversation

T0 = datetime(2026, 11, 30, 12, 0, tzinfo=UTC).timestamp()


def observation(output: str, at: float) -> dict:
    return {"role": "tool", "content": json.dumps({"returncode": 0, "output": output}, indent=2),
            "extra": {"timestamp": at}}


def agent(agent_id: str, fid: int, trajectory: list[dict], sent: list[dict]) -> AgentResult:
    now = datetime.now(UTC)
    return AgentResult(agent_id, (fid,), AgentStatus.submitted, now, now,
                       trajectory=trajectory, sent_messages=sent)


def test_upstreams_entries_in_upstreams_order_each_with_its_send_time():
    agent1 = agent("agent1", 1, [
        {"role": "assistant", "content": ""}, observation("Message sent to agent2", T0 + 1),
        observation("", T0 + 2), observation("Message sent to agent2", T0 + 5),
        {"role": "user", "content": "[Message from agent2]: yes"}],
        [{"to": "agent2", "content": "a?"}, {"to": "agent2", "content": "b?"}])
    agent2 = agent("agent2", 3, [observation("Message sent to agent1", T0 + 3)],
                   [{"to": "agent1", "content": "yes"}])
    conversation = upstream_conversation([agent2, agent1])
    assert [(m["from"], m["to"], m["message"], m["timestamp"], m["feature_id"]) for m in conversation] == [
        ("agent2", "agent1", "yes", None, 3), ("agent1", "agent2", "a?", None, 1),
        ("agent1", "agent2", "b?", None, 1)]  # upstream's: by agent, unsorted (no times)
    assert [m["sent_at"] for m in conversation] == [
        datetime.fromtimestamp(T0 + s, UTC).isoformat() for s in (3, 1, 5)]


def test_no_send_time_when_the_trajectory_does_not_line_up_with_the_sends():
    odd = agent("agent1", 1, [observation("Message sent to agent2", T0)],
                [{"to": "agent2", "content": "a"}, {"to": "agent2", "content": "b"}])
    conversation = upstream_conversation([odd, agent("agent2", 2, [], [])])
    assert [m["message"] for m in conversation] == ["a", "b"]
    assert not any("sent_at" in m for m in conversation)
