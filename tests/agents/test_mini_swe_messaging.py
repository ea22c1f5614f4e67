"""Coop agents: send_message in bash commands, injected messages, --wait, finished partners.

Real containers and litellm calls; the channel is the in-memory one (the Redis bus has its
own tests in tests/bus)."""

import json
import threading

import pytest

from coopbench.agents import AgentStatus
from coopbench.agents.mini_swe import MiniSweAgent
from tests.agents.memory_channel import MemoryBus
from tests.support.fakellm import Reply, bash, received_messages, submit, text

pytestmark = pytest.mark.docker

HELLO = "send_message agent2 <<'MSG'\nI will only touch ledger/account.py.\nSay if you need it too.\nMSG"


def _tool_outputs(result) -> list[dict]:
    return [json.loads(m["content"]) for m in result.trajectory if m["role"] == "tool"]


def _run_both(tasks, open_box) -> dict:
    results, errors = {}, []

    def run(task, box):
        try:
            results[task.agent_id] = MiniSweAgent().run(task, box)
        except Exception as error:
            errors.append(error)

    boxes = {task.agent_id: open_box(task.agent_id) for task in tasks}
    threads = [threading.Thread(target=run, args=(t, boxes[t.agent_id])) for t in tasks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    return results


def test_two_agents_talk_and_wait_for_a_reply(fake_llm, make_task, open_box):
    bus = MemoryBus(("agent1", "agent2"))

    answered = []

    def agent2_answers(messages: list[dict]) -> Reply:
        if answered:
            return submit()
        if "[Message from agent1]: Are you ready?" in received_messages(messages):
            answered.append(True)
            return bash('send_message agent1 "Yes: I only need ledger/report.py."')
        return bash("sleep 0.5")  # not there yet: look again on the next turn

    def agent1_checks_reply(messages: list[dict]) -> Reply:
        last_tool = json.loads(messages[-1]["content"])
        if "[Message from agent2]: Yes: I only need ledger/report.py." in last_tool["output"]:
            return submit()
        return text(f"unexpected: {last_tool}")

    fake_llm.add("agent1", bash(HELLO + "\necho and-then-this-ran"),
                 bash('send_message --wait agent2 "Are you ready?"'), agent1_checks_reply)
    fake_llm.add("agent2", bash("sleep 1"), *[agent2_answers] * 10)
    tasks = [make_task("agent1", (1,), ("agent2",), bus.channel("agent1"), message_wait_s=30),
             make_task("agent2", (3,), ("agent1",), bus.channel("agent2"))]

    results = _run_both(tasks, open_box)

    one, two = results["agent1"], results["agent2"]
    assert one.status is AgentStatus.submitted, one.trajectory[-1]
    assert two.status is AgentStatus.submitted, two.trajectory[-1]
    sent_hello, waited = _tool_outputs(one)[:2]
    assert sent_hello == {"returncode": 0, "output": "Message sent to agent2\nand-then-this-ran\n"}
    assert waited["output"] == ("Message sent to agent2\n"
                                "[Message from agent2]: Yes: I only need ledger/report.py.\n")
    injected = [m for m in two.trajectory if m["content"].startswith("[Message from")]
    assert injected[0] == {"role": "user", "content": "[Message from agent1]: I will only touch "
                           "ledger/account.py.\nSay if you need it too."}
    assert (one.messages_sent, one.messages_received) == (2, 1)
    assert (two.messages_sent, two.messages_received) == (1, 2)
    assert bus.finished == {"agent1", "agent2"}
    # Each agent's prompt: its own feature only, its name, its partner, the messaging rules.
    prompt = fake_llm.requests_for("agent1")[0]["body"]["messages"][1]["content"]
    assert "You are **agent1**" in prompt and "**agent2**" in prompt
    assert "Add an overdraft limit" in prompt and "## Feature" not in prompt
    assert "## Messaging" in prompt and "--wait" in prompt and "30 seconds" in prompt


def test_sends_to_a_finished_or_unknown_agent_are_reported(fake_llm, make_task, open_box):
    bus = MemoryBus(("agent1", "agent2"))
    bus.channel("agent2").finish()
    fake_llm.add("agent1", bash('send_message agent2 "still there?"'),
                 bash('send_message agent7 "hello?" && echo not-run'), submit())

    result = MiniSweAgent().run(
        make_task("agent1", (1,), ("agent2",), bus.channel("agent1")), open_box("agent1"))

    finished, unknown = _tool_outputs(result)
    assert finished["returncode"] == 0
    assert "not delivered: agent2 has already finished" in finished["output"]
    assert unknown["returncode"] == 1 and "agent7" in unknown["output"]
    assert "not-run" not in unknown["output"]
    assert result.messages_sent == 1
    assert bus.sent == [("agent1", "agent2", "still there?", False)]


def test_messages_arriving_late_are_not_taken_once_the_limit_is_hit(fake_llm, make_task, open_box):
    bus = MemoryBus(("agent1", "agent2"))
    task = make_task("agent1", (1,), ("agent2",), bus.channel("agent1"), step_limit=1)
    bus.channel("agent2").send("agent1", "first")  # before the first call: shown

    def late_send(messages):  # arrives during the last allowed step
        bus.channel("agent2").send("agent1", "too late")
        return bash("echo working")

    fake_llm.add("agent1", late_send)

    result = MiniSweAgent().run(task, open_box("agent1"))

    assert result.status is AgentStatus.limits_exceeded
    assert result.messages_received == 1
    assert bus.inboxes["agent1"][0].content == "too late"  # left for finish() to record


def test_without_messaging_send_message_is_just_a_shell_command(fake_llm, make_task, open_box):
    fake_llm.add("agent2", bash('send_message agent1 "hi"'), submit())

    result = MiniSweAgent().run(make_task("agent2", (3,), ("agent1",)), open_box("agent2"))

    assert _tool_outputs(result)[0]["returncode"] == 127  # command not found, as upstream
    prompt = fake_llm.requests_for("agent2")[0]["body"]["messages"][1]["content"]
    assert "You are **agent2**" in prompt and "## Messaging" not in prompt
    assert "send_message" not in prompt and "cannot talk to your teammate" in prompt
    assert result.messages_sent == result.messages_received == 0
