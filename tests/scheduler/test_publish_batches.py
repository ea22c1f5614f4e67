"""Publishing in pipelines (kombu's batches): a broker that fails part-way leaves every job
it reports as sent in the queue, so the store never marks a job published that is not."""

import uuid

import pytest

from coopbench.config import Settings
from coopbench.errors import BrokerUnavailable
from tests.support.broker import queued_ids
from tests.support.redis_server import RedisServer
from workers.publish import PUBLISH_BATCH, Publisher


@pytest.fixture
def broker(tmp_path):
    server = RedisServer(tmp_path / "redis").start()
    yield server
    server.kill()


def test_a_broker_that_fills_up_part_way_reports_only_whole_batches_as_sent(broker):
    settings = Settings(broker_url=broker.url, queue=f"batches-{uuid.uuid4().hex[:6]}")
    publisher, client = Publisher(settings), broker.client()
    jobs = [f"job-{index:05d}" for index in range(3 * PUBLISH_BATCH)]
    before = client.info("memory")["used_memory"]
    publisher.publish(jobs[:PUBLISH_BATCH])
    batch_bytes = client.info("memory")["used_memory"] - before
    client.flushall()
    # Room for one and a half batches: the second batch fails part-way.
    client.config_set("maxmemory", client.info("memory")["used_memory"] + int(1.5 * batch_bytes))
    client.config_set("maxmemory-policy", "noeviction")

    with pytest.raises(BrokerUnavailable) as failure:
        publisher.publish(jobs)

    sent = failure.value.sent
    assert 0 < len(sent) < len(jobs) and len(sent) % PUBLISH_BATCH == 0
    assert sent == jobs[:len(sent)]
    queued = queued_ids(client, settings.queue)
    assert set(sent) <= set(queued)  # reported sent: really in the queue
    assert "run the same enqueue again" in str(failure.value)

    client.config_set("maxmemory", 0)
    publisher.publish([job for job in jobs if job not in sent])  # what enqueue does next
    assert set(queued_ids(client, settings.queue)) == set(jobs)
