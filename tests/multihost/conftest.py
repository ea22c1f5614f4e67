"""Fixtures of the multi-host test: the namespaces, Redis and PostgreSQL with passwords,
and one "host" per namespace. Each fixture undoes what it made even when the test fails
(workers first, then the services, then the network)."""

import os
import shutil
import sys
from pathlib import Path

import pytest

from coopbench.sandbox.containers import remove_labelled
from tests.multihost.network import NamespaceHost, PasswordPostgres, Topology
from tests.support.env import clean_env
from tests.support.redis_server import RedisServer

HOSTS = 2


@pytest.fixture
def topology():
    if os.geteuid() != 0 or shutil.which("ip") is None or shutil.which("unshare") is None:
        pytest.fail("the multi-host test needs root, `ip` (iproute2) and `unshare` (util-linux)")
    net = Topology(HOSTS)
    try:
        yield net.create()
    finally:
        net.destroy()
    assert net.leftovers() == [], "namespaces or interfaces left behind"


@pytest.fixture
def redis_server(topology, tmp_path):
    server = RedisServer(tmp_path / "redis", address=topology.gateway, password=True)
    try:
        yield server.start()
    finally:
        server.kill()


@pytest.fixture
def postgres(topology):
    cluster = PasswordPostgres(topology.gateway, topology.subnet)
    try:
        yield cluster.start()
    finally:
        cluster.stop()


@pytest.fixture
def hosts(topology, redis_server, postgres, docker_client, tmp_path) -> list[NamespaceHost]:
    """One host per namespace, its hostname cb-<tag>-hostN, configured as a user would:
    environment variables naming the services by address, with their passwords. Afterwards
    the workers are stopped, and any container labelled with one of these hostnames (a
    worker killed mid-job leaves its containers) is removed."""
    env = clean_env(
        COOPBENCH_BROKER_URL=redis_server.url, COOPBENCH_DATABASE_URL=postgres.url,
        COOPBENCH_QUEUE=f"coopbench-{topology.tag}",
        PATH=f"{Path(sys.executable).parent}:{os.environ.get('PATH', '/usr/bin:/bin')}",
    )
    made = [NamespaceHost(namespace, f"cb-{topology.tag}-host{index}", env,
                          tmp_path / f"host{index}")
            for index, namespace in enumerate(topology.namespaces, start=1)]
    try:
        yield made
    finally:
        for host in made:
            host.stop_worker()
        for host in made:
            remove_labelled(docker_client, {"host": host.hostname})
