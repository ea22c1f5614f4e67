"""A container started ahead, on the real Docker engine: started when told, or when taken;
handed over running, removed when nobody takes it, and a start that fails leaves nothing
behind and hands over nothing."""

import functools
import time
import uuid

from coopbench.sandbox.ahead import SandboxAhead
from coopbench.sandbox.containers import open_sandbox
from coopbench.sandbox.removals import Removals
from tests.sandbox.test_limits import ledger_image
from tests.support.containers import container_names


def ahead_of(docker_client, image: str, removals: Removals,
             delay_s: float = 0.0) -> tuple[SandboxAhead, str]:
    name = f"coopbench-ahead-{uuid.uuid4().hex[:8]}"
    return SandboxAhead(name, functools.partial(
        open_sandbox, docker_client, image, name, {"run": name}, removals=removals),
        delay_s=delay_s), name


def test_it_starts_when_told_and_not_before(docker_client, demo_images):
    removals = Removals()
    ahead, name = ahead_of(docker_client, ledger_image(demo_images), removals, delay_s=600)
    with ahead:
        time.sleep(1)
        assert container_names(docker_client, f"coopbench.run={name}") == []
        ahead.start_now()
        deadline = time.monotonic() + 30
        while not docker_client.containers.list(sparse=True, filters={
                "label": f"coopbench.run={name}", "status": "running"}):
            assert time.monotonic() < deadline, "not started within 30 s of start_now"
            time.sleep(0.1)
    removals.wait()
    assert container_names(docker_client, f"coopbench.run={name}") == []


def test_taking_it_starts_it_at_once_and_closing_it_first_starts_nothing(docker_client, demo_images):
    removals = Removals()
    ahead, name = ahead_of(docker_client, ledger_image(demo_images), removals, delay_s=600)
    began = time.monotonic()
    taken = ahead.take()  # the agents were done before any sign: the delay is not waited
    assert taken is not None and time.monotonic() - began < 60
    taken[1].close()
    never, never_name = ahead_of(docker_client, ledger_image(demo_images), removals, delay_s=600)
    never.close()
    removals.wait()
    assert container_names(docker_client, f"coopbench.run={name}") == []
    assert container_names(docker_client, f"coopbench.run={never_name}") == []


def test_taken_it_is_running_and_its_taker_removes_it(docker_client, demo_images):
    removals = Removals()
    ahead, name = ahead_of(docker_client, ledger_image(demo_images), removals)
    with ahead:
        box, close = ahead.take()
        assert ahead.take() is None  # handed over once
    assert box.exec("echo ready", timeout_s=30).output.strip() == "ready"  # close() kept it
    close.close()
    removals.wait()
    assert container_names(docker_client, f"coopbench.run={name}") == []


def test_not_taken_it_is_removed(docker_client, demo_images):
    removals = Removals()
    ahead, name = ahead_of(docker_client, ledger_image(demo_images), removals)
    with ahead:
        pass  # the job failed before its evaluation
    removals.wait()
    assert container_names(docker_client, f"coopbench.run={name}") == []


def test_a_start_that_fails_hands_over_nothing_and_leaves_nothing(docker_client, caplog):
    removals = Removals()
    ahead, name = ahead_of(docker_client, "coopbench-test/no-such-image:gone", removals)
    with ahead:
        assert ahead.take() is None  # the evaluation starts its own, and meets the cause
    removals.wait()
    assert f"container {name} was not started ahead" in caplog.text
    assert container_names(docker_client, f"coopbench.run={name}") == []


def test_a_preparation_that_fails_hands_over_nothing_and_leaves_nothing(docker_client, demo_images,
                                                                        caplog):
    removals = Removals()
    name = f"coopbench-ahead-{uuid.uuid4().hex[:8]}"

    def prepare(box) -> None:
        assert box.exec("false", timeout_s=30).returncode == 0, "prepare: false failed"

    ahead = SandboxAhead(name, functools.partial(
        open_sandbox, docker_client, ledger_image(demo_images), name, {"run": name},
        removals=removals), prepare=prepare)
    with ahead:
        assert ahead.take() is None
    removals.wait()
    assert "prepare: false failed" in caplog.text
    assert container_names(docker_client, f"coopbench.run={name}") == []
