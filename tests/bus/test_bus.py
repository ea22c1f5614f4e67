"""The message bus against a real Redis (DB 9), one run name per test."""

import threading
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from coopbench.bus import message_bus
from coopbench.bus.message_bus import MessageBus
from tests.conftest import REDIS_URL

AGENTS = ("agent1", "agent2")


def _keys(client, bus: MessageBus) -> list[bytes]:
    return list(client.scan_iter(match=bus.prefix + "*"))


def _redis_now(client) -> datetime:
    seconds, micros = client.time()
    return datetime(1970, 1, 1) + timedelta(seconds=seconds, microseconds=micros)


def _skew_workers(monkeypatch, behind: str = "") -> None:
    """Worker clocks an hour ahead, or an hour behind in the thread named ``behind``."""
    def clock():
        hours = -1 if threading.current_thread().name == behind else 1
        return datetime.now(UTC).replace(tzinfo=None) + timedelta(hours=hours)
    monkeypatch.setattr(message_bus, "utcnow", clock, raising=False)


@pytest.fixture
def make_bus(redis_client):
    """Buses of a fresh run; every key of the run is removed afterwards, whatever happened."""
    run = f"test-{uuid.uuid4().hex[:10]}"

    def make(agents=AGENTS, attempt=1, **kwargs) -> MessageBus:
        return MessageBus(redis_client, run, "job-1", attempt, agents, **kwargs)

    yield make
    for key in redis_client.scan_iter(match=f"coopbench:bus:{run}:*"):
        redis_client.delete(key)


def test_send_and_receive_both_ways_in_fifo_order(make_bus):
    bus = make_bus()
    one, two = bus.channel("agent1"), bus.channel("agent2")
    for text in ("a", "b", "c"):
        assert one.send("agent2", text).delivered
    two.send("agent1", "hello")

    got = two.receive()
    assert [(m.sender, m.recipient, m.content) for m in got] == [
        ("agent1", "agent2", "a"), ("agent1", "agent2", "b"), ("agent1", "agent2", "c")]
    assert all(m.delivered is True and m.delivered_at >= m.sent_at for m in got)
    assert two.receive() == []
    assert [m.content for m in one.receive()] == ["hello"]


def test_concurrent_senders_give_one_total_order_and_lose_nothing(make_bus):
    bus = make_bus(agents=("agent1", "agent2", "agent3"))
    n = 200
    start = threading.Barrier(2)

    def flood(sender):
        channel = bus.channel(sender)
        start.wait()
        for i in range(n):
            channel.send("agent3", f"{sender} {i}")

    threads = [threading.Thread(target=flood, args=(a,)) for a in ("agent1", "agent2")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    received = bus.channel("agent3").receive()
    record = bus.record()
    assert len(received) == 2 * n
    # the inbox merges both senders in exactly the order the bus recorded
    assert [m.content for m in received] == [m.content for m in record]
    for sender in ("agent1", "agent2"):
        expected = [f"{sender} {i}" for i in range(n)]
        assert [m.content for m in received if m.sender == sender] == expected
    assert {m.sender for m in received[:n]} == {"agent1", "agent2"}  # really interleaved


def test_send_to_a_finished_agent_is_recorded_undelivered(make_bus):
    bus = make_bus()
    one, two = bus.channel("agent1"), bus.channel("agent2")
    two.finish()

    receipt = one.send("agent2", "are you there?")

    assert receipt.delivered is False and receipt.reply == []
    [message] = bus.record()
    assert message.content == "are you there?"
    assert (message.delivered, message.delivered_at) == (False, None)
    assert two.receive() == []


def test_finish_marks_pending_messages_undelivered(make_bus):
    bus = make_bus()
    one, two = bus.channel("agent1"), bus.channel("agent2")
    one.send("agent2", "read")
    assert [m.content for m in two.receive()] == ["read"]
    one.send("agent2", "never read 1")
    one.send("agent2", "never read 2")

    two.finish()
    two.finish()  # idempotent

    assert [(m.content, m.delivered) for m in bus.record()] == [
        ("read", True), ("never read 1", False), ("never read 2", False)]
    assert two.receive() == []


def test_wait_returns_the_reply_sent_meanwhile(make_bus):
    bus = make_bus()
    one, two = bus.channel("agent1"), bus.channel("agent2")

    def answer():
        time.sleep(0.3)
        assert [m.content for m in two.receive()] == ["which file?"]
        two.send("agent1", "utils.py")

    thread = threading.Thread(target=answer)
    thread.start()
    started = time.monotonic()
    receipt = one.send("agent2", "which file?", wait_s=5)
    took_s = time.monotonic() - started
    thread.join()

    assert receipt.delivered
    assert [(m.sender, m.content, m.delivered) for m in receipt.reply] == [
        ("agent2", "utils.py", True)]
    assert 0.25 < took_s < 3
    assert one.receive() == []  # taken by the wait, not left behind
    assert [m.delivered for m in bus.record()] == [True, True]


def test_wait_times_out_with_no_reply(make_bus):
    bus = make_bus()
    started = time.monotonic()
    receipt = bus.channel("agent1").send("agent2", "anyone?", wait_s=0.5)
    took_s = time.monotonic() - started

    assert receipt.delivered and receipt.reply == []
    assert 0.5 <= took_s < 2


def test_wait_keeps_a_third_partys_message_for_receive(make_bus):
    bus = make_bus(agents=("agent1", "agent2", "agent3"))
    one, two, three = (bus.channel(a) for a in ("agent1", "agent2", "agent3"))
    three.send("agent1", "before")

    def talk():
        time.sleep(0.1)
        three.send("agent1", "during")
        time.sleep(0.2)
        two.send("agent1", "reply")

    thread = threading.Thread(target=talk)
    thread.start()
    receipt = one.send("agent2", "question", wait_s=5)
    thread.join()

    assert [m.content for m in receipt.reply] == ["reply"]
    assert [(m.sender, m.content) for m in one.receive()] == [
        ("agent3", "before"), ("agent3", "during")]


def test_wait_ends_when_the_recipient_finishes(make_bus):
    bus = make_bus()
    one, two = bus.channel("agent1"), bus.channel("agent2")
    timer = threading.Timer(0.2, two.finish)
    timer.start()

    started = time.monotonic()
    receipt = one.send("agent2", "still there?", wait_s=10)
    timer.join()

    assert receipt.delivered and receipt.reply == []  # delivered to the inbox, never read
    assert time.monotonic() - started < 3
    assert [m.delivered for m in bus.record()] == [False]


def test_wait_on_a_finished_recipient_does_not_block(make_bus):
    bus = make_bus()
    bus.channel("agent2").finish()
    started = time.monotonic()
    assert not bus.channel("agent1").send("agent2", "hi", wait_s=10).delivered
    assert time.monotonic() - started < 1


def test_unknown_recipient_or_agent_is_refused(make_bus):
    bus = make_bus()
    one = bus.channel("agent1")
    with pytest.raises(ValueError, match="unknown agent 'agent3'.*agent1, agent2"):
        one.send("agent3", "hi")
    with pytest.raises(ValueError, match="yourself"):
        one.send("agent1", "hi")
    with pytest.raises(ValueError, match="unknown agent"):
        bus.channel("solo")
    assert bus.record() == []


def test_record_and_conversation_json_in_send_order(make_bus):
    bus = make_bus()
    one, two = bus.channel("agent1"), bus.channel("agent2")
    one.send("agent2", "first")
    two.send("agent1", "second")
    one.send("agent2", "third")
    two.receive()  # first and third delivered
    one.finish()  # second never read

    record = bus.record()
    assert [(m.sender, m.content, m.delivered) for m in record] == [
        ("agent1", "first", True), ("agent2", "second", False), ("agent1", "third", True)]
    assert record[0].sent_at <= record[1].sent_at <= record[2].sent_at

    conversation = bus.conversation_json({"agent1": 3, "agent2": 7})
    assert [{k: entry[k] for k in ("from", "to", "message", "feature_id", "delivered")}
            for entry in conversation] == [
        {"from": "agent1", "to": "agent2", "message": "first", "feature_id": 3,
         "delivered": True},
        {"from": "agent2", "to": "agent1", "message": "second", "feature_id": 7,
         "delivered": False},
        {"from": "agent1", "to": "agent2", "message": "third", "feature_id": 3,
         "delivered": True},
    ]
    assert conversation[0]["timestamp"] == record[0].sent_at.isoformat()
    assert conversation[0]["delivered_at"] == record[0].delivered_at.isoformat()
    assert conversation[1]["delivered_at"] is None


def test_an_attempt_never_sees_an_earlier_attempts_messages(make_bus):
    first = make_bus(attempt=1)
    first.channel("agent1").send("agent2", "from attempt 1")
    second = make_bus(attempt=2)
    assert second.channel("agent2").receive() == []
    assert second.record() == []


def test_every_key_has_a_ttl_and_delete_leaves_none(make_bus, redis_client):
    bus = make_bus(agents=("agent1", "agent2", "agent3"), ttl_s=600)
    one, two, three = (bus.channel(a) for a in ("agent1", "agent2", "agent3"))
    one.send("agent2", "x")
    one.send("agent3", "y")
    two.receive()
    three.finish()
    one.send("agent3", "z")
    two.send("agent1", "w", wait_s=0.05)

    keys = _keys(redis_client, bus)
    names = {key.decode().removeprefix(bus.prefix) for key in keys}
    assert {"seq", "messages", "delivery", "finished", "gone:agent1:agent3"} <= names
    assert all(0 < redis_client.ttl(key) <= 600 for key in keys)

    bus.delete()
    assert _keys(redis_client, bus) == []


def test_context_manager_with_a_url_deletes_at_exit(redis_client):
    run = f"test-{uuid.uuid4().hex[:10]}"
    with MessageBus(REDIS_URL, run, "job-1", 1, AGENTS) as bus:
        bus.channel("agent1").send("agent2", "hi")
        assert _keys(redis_client, bus)
    assert _keys(redis_client, bus) == []


def test_sends_racing_a_finish_leave_nothing_pending(make_bus):
    bus = make_bus()
    one, two = bus.channel("agent1"), bus.channel("agent2")
    receipts = []

    def flood():
        receipts.extend(one.send("agent2", str(i)) for i in range(300))

    sender = threading.Thread(target=flood)
    sender.start()
    read = []
    while len(read) < 20:
        read += two.receive()
    two.finish()
    sender.join()

    record = bus.record()
    assert [m.content for m in record] == [str(i) for i in range(300)]
    states = [m.delivered for m in record]
    assert None not in states  # every message was either read or marked never to be
    assert states == [True] * len(read) + [False] * (300 - len(read))
    refused = [r.delivered for r in receipts].index(False)  # the first send after the finish
    assert not any(r.delivered for r in receipts[refused:])
    assert refused >= len(read)


def test_stamps_come_from_the_redis_clock_not_the_workers(make_bus, redis_client, monkeypatch):
    _skew_workers(monkeypatch)
    bus = make_bus()
    one, two = bus.channel("agent1"), bus.channel("agent2")

    before = _redis_now(redis_client)
    one.send("agent2", "hi")
    between = _redis_now(redis_client)
    [got] = two.receive()
    after = _redis_now(redis_client)

    assert got.sent_at.tzinfo is None and got.delivered_at.tzinfo is None  # naive UTC
    assert before <= got.sent_at <= between <= got.delivered_at <= after
    [recorded] = bus.record()
    assert (recorded.sent_at, recorded.delivered_at) == (got.sent_at, got.delivered_at)
    [entry] = bus.conversation_json({"agent1": 1, "agent2": 2})
    assert (entry["timestamp"], entry["delivered_at"]) == (
        got.sent_at.isoformat(), got.delivered_at.isoformat())


def test_a_delivery_never_precedes_its_send_across_skewed_workers(make_bus, monkeypatch):
    _skew_workers(monkeypatch, behind="agent2")  # as if on two hosts, two hours apart
    bus = make_bus()
    n = 150
    start = threading.Barrier(2)
    received = {agent: [] for agent in AGENTS}

    def talk(me, peer):
        channel = bus.channel(me)
        start.wait()
        for i in range(n):
            receipt = channel.send(peer, f"{me} {i}", wait_s=0.02 if i % 10 == 0 else 0)
            received[me] += receipt.reply + channel.receive()

    threads = [threading.Thread(target=talk, args=pair, name=pair[0])
               for pair in (AGENTS, AGENTS[::-1])]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for agent in AGENTS:
        received[agent] += bus.channel(agent).receive()

    for me, peer in (AGENTS, AGENTS[::-1]):
        assert [m.content for m in received[me]] == [f"{peer} {i}" for i in range(n)]
    record = bus.record()
    assert len(record) == 2 * n and all(m.delivered for m in record)
    assert all(m.delivered_at >= m.sent_at for m in record)
    assert [m.sent_at for m in record] == sorted(m.sent_at for m in record)  # one clock
