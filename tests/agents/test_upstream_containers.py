"""Upstream's DockerEnvironment (which mini_swe_agent_v2, claude_code and codex start their
containers with) under coopbench's policy, on the real Docker engine."""

import threading

import pytest

from coopbench.agents.upstream.containers import AgentStopped, container_policy, stop_job
from coopbench.sandbox.cli_policy import CliContainerPolicy
from coopbench.sandbox.containers import Network
from coopbench.sandbox.limits import SandboxLimits
from tests.conftest import BASE_IMAGE

pytestmark = pytest.mark.docker


def _environment(**kwargs):
    from cooperbench.agents.mini_swe_agent_v2.environments import docker as environments

    return environments.DockerEnvironment(image=BASE_IMAGE, cwd="/", **kwargs)


def test_a_policy_names_labels_and_limits_the_container_upstream_starts(docker_client):
    policy = CliContainerPolicy("coopbench-policy-test", {"job": "j1", "attempt": "2", "role": "agent1"},
                                Network.none, SandboxLimits(memory="256m", cpus=0.5))
    with container_policy(policy):
        env = _environment()
    try:
        attrs = docker_client.api.inspect_container(env.container_id)
        assert attrs["Name"] == "/coopbench-policy-test"
        assert {k: v for k, v in attrs["Config"]["Labels"].items() if k.startswith("coopbench.")} == {
            "coopbench.job": "j1", "coopbench.attempt": "2", "coopbench.role": "agent1"}
        host = attrs["HostConfig"]
        assert (host["Memory"], host["NanoCpus"], host["NetworkMode"]) == (256 * 2**20, 500_000_000, "none")
        assert host["PidsLimit"] == 1024 and host["AutoRemove"]  # upstream's --rm kept
        assert env.execute({"command": "echo ok"})["output"].strip() == "ok"
        # What the adapter records of its environment stays upstream's.
        assert env.serialize()["info"]["config"]["environment_type"] == (
            "cooperbench.agents.mini_swe_agent_v2.environments.docker.DockerEnvironment")
    finally:
        docker_client.api.remove_container(env.container_id, force=True)


def test_without_a_policy_on_the_thread_the_container_is_upstreams(docker_client):
    with container_policy(CliContainerPolicy("coopbench-other-thread", {"job": "j2"})):
        made = []
        thread = threading.Thread(target=lambda: made.append(_environment()))
        thread.start()
        thread.join()
    try:
        attrs = docker_client.api.inspect_container(made[0].container_id)
        assert attrs["Name"].startswith("/minisweagent-")
        assert not any(k.startswith("coopbench.") for k in attrs["Config"]["Labels"] or {})
    finally:
        docker_client.api.remove_container(made[0].container_id, force=True)


def test_a_stopped_policy_lets_the_agent_run_nothing_more(docker_client):
    policy = CliContainerPolicy("coopbench-policy-stop", {"job": "j3", "role": "agent1"})
    with container_policy(policy):
        env = _environment()
        try:
            assert env.execute({"command": "true"})["returncode"] == 0
            assert stop_job("other-job") == 0
            assert stop_job("j3") == 1  # what a lost claim does to the job's running agents
            with pytest.raises(AgentStopped, match="coopbench-policy-stop"):
                env.execute({"command": "true"})
        finally:
            docker_client.api.remove_container(env.container_id, force=True)
    assert stop_job("j3") == 0  # no longer running
