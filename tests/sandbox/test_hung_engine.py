"""A hung Docker engine (tests/sandbox/docker_proxy.py, in front of the real one) bounds
every call of a sandbox: each raises ``SandboxError`` (infrastructure) within a few API
timeouts, a command's silence included, and leaves no thread waiting on the engine."""

import shutil
import tempfile
import threading
import time
import uuid
from pathlib import Path

import pytest

from coopbench.errors import SandboxError
from coopbench.job.failures import FailureKind, classify
from coopbench.sandbox.containers import docker_client, open_sandbox
from tests.sandbox.docker_proxy import HangingDockerProxy
from tests.sandbox.test_limits import ledger_image
from tests.support.containers import run_containers
from tests.support.polling import wait_until

pytestmark = pytest.mark.docker

API_TIMEOUT_S = 2.0
SLACK_S = 3.0  # this machine's slowness (2 cores, shared with other tests)


@pytest.fixture
def proxy(monkeypatch):
    directory = Path(tempfile.mkdtemp(prefix="dkp"))  # a unix socket path must be short
    with HangingDockerProxy(directory / "docker.sock") as running:
        monkeypatch.setenv("DOCKER_HOST", running.url)
        yield running
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def run(docker_client):
    name = f"hung-{uuid.uuid4().hex[:8]}"
    yield name
    for container in docker_client.containers.list(
            all=True, sparse=True, filters={"label": f"coopbench.run={name}"}):
        container.remove(force=True)


def exec_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("exec-")]


def test_a_client_of_a_hung_engine_is_refused_in_time(proxy):
    proxy.hang()
    started = time.monotonic()
    with pytest.raises(SandboxError, match="cannot reach the Docker engine") as raised:
        docker_client(API_TIMEOUT_S)
    assert time.monotonic() - started < API_TIMEOUT_S + SLACK_S
    assert classify(raised.value).kind is FailureKind.infra


def test_a_command_on_a_hung_engine_fails_within_two_api_timeouts(proxy, run, demo_images,
                                                                  docker_client):
    client = docker_client_through(proxy)
    with pytest.raises(SandboxError, match="did not answer") as raised:
        with open_sandbox(client, ledger_image(demo_images), run, {"run": run}) as box:
            assert box.exec("echo up", timeout_s=30).output.strip() == "up"
            threading.Timer(1.0, proxy.hang).start()
            started = time.monotonic()
            try:  # silent for longer than the test lasts; its own limit is an hour
                box.exec("sleep 600", timeout_s=3600)
            finally:
                elapsed = time.monotonic() - started
    # At most one API timeout to the next check, which is unanswered for another one.
    assert elapsed < 2 * API_TIMEOUT_S + 1 + SLACK_S
    assert classify(raised.value).kind is FailureKind.infra
    assert exec_threads() == []  # the reader was woken, not left on the engine's socket
    # The removal went unanswered too (a warning, not the job's error): the container is left
    # for the cleanup, and goes once the engine answers.
    assert run_containers(docker_client, run) == [run]
    proxy.resume()
    client.containers.get(run).remove(force=True)  # the same client, on new connections


def test_reading_a_file_from_a_hung_engine_fails_in_time(proxy, run, demo_images):
    client = docker_client_through(proxy)
    with pytest.raises(SandboxError, match="did not answer"):
        with open_sandbox(client, ledger_image(demo_images), run, {"run": run}) as box:
            box.put_files("/tmp/files", {"a.txt": "text"})
            assert box.read_file("/tmp/files/a.txt") == "text"
            proxy.hang()
            started = time.monotonic()
            try:
                box.read_file("/tmp/files/a.txt")
            finally:
                elapsed = time.monotonic() - started
    assert elapsed < API_TIMEOUT_S + SLACK_S


def test_commands_still_time_out_as_before(proxy, run, demo_images):
    """An engine that answers: a command over its limit is the agent's time-out (124), even
    with checks of the engine every API timeout meanwhile."""
    client = docker_client_through(proxy)
    with open_sandbox(client, ledger_image(demo_images), run, {"run": run}) as box:
        started = time.monotonic()
        result = box.exec("sleep 30", timeout_s=3 * API_TIMEOUT_S)
        assert result.returncode == 124 and result.timed_out and not result.killed
        assert time.monotonic() - started < 3 * API_TIMEOUT_S + SLACK_S
        killed = box.exec("sleep 30", timeout_s=2.5 * API_TIMEOUT_S, kill_on_timeout=True)
        assert killed.killed
    wait_until(lambda: exec_threads() == [], "the exec readers to end", timeout_s=10)


def docker_client_through(proxy: HangingDockerProxy):
    return docker_client(API_TIMEOUT_S)  # DOCKER_HOST is the proxy's (fixture)


def test_an_evaluation_command_whose_end_never_comes_back_is_the_engines_failure(
        proxy, run, demo_images, docker_client):
    """Docker can leave a command's stream open after the command ended (moby#38809). At the
    limit, upstream's backend would score that as a test that timed out; coopbench asks the
    engine whether the command still runs, and an ended one is an infrastructure error."""
    from coopbench.evaluation.backend import CoopbenchEvalBackend

    client = docker_client_through(proxy)
    with CoopbenchEvalBackend(client, ledger_image(demo_images), run, {"run": run}) as backend:
        box = backend.create_sandbox("any", timeout=4)
        threading.Timer(1.0, proxy.freeze_open).start()  # while the command runs
        with pytest.raises(SandboxError, match="did not return the end of a command"):
            box.exec("sleep", "2")
        assert isinstance(backend.failure, SandboxError)
    proxy.resume()
    with CoopbenchEvalBackend(docker_client, ledger_image(demo_images), run, {"run": run}) as backend:
        box = backend.create_sandbox("any", timeout=2)
        for command in ("sleep 60",  # still running at the limit: upstream's time-out
                        "sleep 60 & echo started"):  # ended, but its child holds the output
            outcome = box.exec("bash", "-c", command)
            assert (outcome.returncode, outcome.output) == (-1, "Command timed out after 2 seconds")
        assert backend.failure is None
