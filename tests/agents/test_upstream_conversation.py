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


def test_a_team_reads_no_connector_sends_as_upstreams_team_runner():
    """Upstream's team runner hands its extraction no ``sent_messages`` (only each agent's
    messages), so a team's conversation.json holds only sends the model typed as text."""
    import inspect

    from cooperbench.runner import team

    assert "sent_messages" not in inspect.getsource(team)  # else follow upstream's change
    typed = {"role": "assistant", "content": 'send_message agent2 "typed"'}
    agent1 = agent("agent1", 1, [typed, observation("Message sent to agent2", T0 + 1),
                                 observation("Message sent to agent2", T0 + 2)],
                   [{"to": "agent2", "content": "typed"}, {"to": "agent2", "content": "by tool"}])
    agent2 = agent("agent2", 2, [], [])
    in_team = upstream_conversation([agent1, agent2], team=True)
    assert [(m["from"], m["to"], m["message"]) for m in in_team] == [("agent1", "agent2", "typed")]
    in_coop = upstream_conversation([agent1, agent2])
    assert ("agent1", "agent2", "by tool") in [(m["from"], m["to"], m["message"]) for m in in_coop]
