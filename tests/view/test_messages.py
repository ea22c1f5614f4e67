"""Each message drawn from the step that sent it to the step of its receiver that first
showed it to the model: by the inbox, as a reply to ``--wait``, or not at all."""

from coopbench.view.messages import AFTER_LAST_STEP, NEVER_READ, match_messages
from coopbench.view.steps import Step


def step(number: int, commands=(), received=(), observation="", sends=()) -> Step:
    return Step(number, float(number), "", list(commands), observation, list(received), list(sends))


def entry(sender: str, receiver: str, text: str) -> dict:
    return {"from": sender, "to": receiver, "message": text, "sent_at": None}


def test_inbox_delivery_both_ways():
    steps = {
        "agent1": [step(1, ["send_message agent2 <<'MSG'\nhi\nMSG"]), step(2),
                   step(3, received=["[Message from agent2]: yes"])],
        "agent2": [step(1), step(2, ['send_message agent1 "yes"'], received=["[Message from agent1]: hi"])],
    }
    links = match_messages([entry("agent1", "agent2", "hi"), entry("agent2", "agent1", "yes")], steps)
    assert [(m.sender_step, m.receiver_step, m.via) for m in links] == [(1, 2, "inbox"), (2, 3, "inbox")]


def test_a_blocked_senders_message_still_matches():
    shown = "[Message from agent1 — agent1 is BLOCKED waiting for your reply and cannot continue]: hi"
    steps = {"agent1": [step(1, sends=[("agent2", "hi")])], "agent2": [step(4, received=[shown])]}
    (link,) = match_messages([entry("agent1", "agent2", "hi")], steps)
    assert (link.sender_step, link.receiver_step) == (1, 4)


def test_a_reply_read_while_waiting_is_delivered_at_the_waiting_step():
    steps = {"agent1": [step(1, ["send_message --wait agent2 'ready?'"],
                             observation="Message sent to agent2\n\n[Reply from agent2]: go\nahead")],
             "agent2": [step(1, ['send_message agent1 "go\nahead"'], received=["[Message from agent1]: ready?"])]}
    links = match_messages([entry("agent1", "agent2", "ready?"), entry("agent2", "agent1", "go\nahead")], steps)
    assert [(m.receiver, m.receiver_step, m.via) for m in links] == [("agent2", 1, "inbox"), ("agent1", 1, "reply")]


def test_undelivered_messages_say_why():
    steps = {"agent1": [step(1)], "agent2": [step(1, sends=[("agent1", "late"), ("agent1", "later")])]}
    links = match_messages([entry("agent2", "agent1", "late"), entry("agent2", "agent1", "later")], steps,
                           {"agent1": ["[Message from agent2]: late"]})
    assert [(m.delivered, m.sender_step, m.via) for m in links] == [
        (False, 1, AFTER_LAST_STEP), (False, 1, NEVER_READ)]


def test_identical_messages_are_matched_in_order():
    steps = {"agent1": [step(1, sends=[("agent2", "ping")]), step(2, sends=[("agent2", "ping")])],
             "agent2": [step(1), step(2, received=["[Message from agent1]: ping"]),
                        step(3, received=["[Message from agent1]: ping"])]}
    links = match_messages([entry("agent1", "agent2", "ping")] * 2, steps)
    assert [(m.sender_step, m.receiver_step) for m in links] == [(1, 2), (2, 3)]


def test_three_agents():
    steps = {"agent1": [step(1, sends=[("agent3", "a")])], "agent2": [step(1, sends=[("agent1", "b")])],
             "agent3": [step(2, received=["[Message from agent1]: a"])]}
    links = match_messages([entry("agent1", "agent3", "a"), entry("agent2", "agent1", "b")], steps)
    assert [(m.receiver, m.receiver_step) for m in links] == [("agent3", 2), ("agent1", None)]


def test_a_message_from_someone_else_does_not_match():
    steps = {"agent1": [step(1, sends=[("agent2", "x")])],
             "agent2": [step(1, received=["[Message from agent3]: x"])]}
    (link,) = match_messages([entry("agent1", "agent2", "x")], steps)
    assert not link.delivered
