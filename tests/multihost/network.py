"""Hosts made of Linux network namespaces, and the password-protected PostgreSQL they reach
(their Redis: ``tests/support/redis_server.py`` with a password).

The topology, one per test, with names unique to it (``<tag>`` is random hex)::

    root namespace                          namespace cb-<tag>-h1 (hostname cb-<tag>-host1)
      bridge cb<tag>br 10.213.X.1/24 ---veth--- 10.213.X.2/24
      redis-server and postgres listen      namespace cb-<tag>-h2 (hostname cb-<tag>-host2)
      on 10.213.X.1 only               ---veth--- 10.213.X.3/24

A namespace has its own loopback, so ``localhost`` there reaches nothing: a process in it
that assumed localhost would fail. A namespace has no route beyond the bridge (none is
needed). Each "host" process also gets a UTS namespace of its own, so that
``socket.gethostname()`` (what coopbench records as a job's host) differs between hosts.
The Docker socket is a file, so every namespace reaches the same engine.
"""

import ipaddress
import os
import random
import secrets
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

import psycopg
from psycopg import sql

from coopbench.ops.localcluster import free_port

PG_BIN = Path("/usr/lib/postgresql/15/bin")
SUBNET_PREFIX = "10.213"  # 10.213.X.0/24, X chosen at random among the free ones
STOP_GRACE_S = 30


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(["ip", *args], capture_output=True, text=True)
    if check and result.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {result.stderr.strip()}")
    return result


def free_subnet() -> ipaddress.IPv4Network:
    """A 10.213.X.0/24 that no address or route of this host overlaps."""
    used = []
    for line in ip("-4", "-o", "addr", "show").stdout.splitlines():
        used.append(ipaddress.ip_interface(line.split()[3]).network)
    for line in ip("-4", "route", "show", "table", "all").stdout.splitlines():
        first = line.split()[0]
        if first in ("local", "broadcast", "unreachable", "blackhole", "prohibit"):
            first = line.split()[1]
        if first[0].isdigit():
            used.append(ipaddress.ip_network(first, strict=False))
    candidates = [ipaddress.ip_network(f"{SUBNET_PREFIX}.{x}.0/24") for x in range(1, 255)]
    free = [net for net in candidates if not any(net.overlaps(u) for u in used)]
    assert free, f"no free {SUBNET_PREFIX}.X.0/24 subnet on this host"
    return random.choice(free)


class Topology:
    """A bridge in the root namespace and ``hosts`` namespaces on it, each with its address."""

    def __init__(self, hosts: int = 2):
        self.tag = secrets.token_hex(3)
        self.subnet = free_subnet()
        addresses = list(self.subnet.hosts())
        self.gateway = str(addresses[0])  # the bridge: where the services listen
        self.bridge = f"cb{self.tag}br"  # interface names are at most 15 characters
        self.namespaces = {f"cb-{self.tag}-h{i}": str(addresses[i]) for i in range(1, hosts + 1)}

    def create(self) -> "Topology":
        ip("link", "add", self.bridge, "type", "bridge")
        ip("addr", "add", f"{self.gateway}/{self.subnet.prefixlen}", "dev", self.bridge)
        ip("link", "set", self.bridge, "up")
        for index, (namespace, address) in enumerate(self.namespaces.items(), start=1):
            outside, inside = f"cb{self.tag}v{index}", f"cb{self.tag}p{index}"
            ip("netns", "add", namespace)
            ip("link", "add", outside, "type", "veth", "peer", "name", inside)
            ip("link", "set", inside, "netns", namespace)
            ip("link", "set", outside, "master", self.bridge)
            ip("link", "set", outside, "up")
            ip("-n", namespace, "addr", "add", f"{address}/{self.subnet.prefixlen}", "dev", inside)
            ip("-n", namespace, "link", "set", inside, "up")
            ip("-n", namespace, "link", "set", "lo", "up")
        return self

    def destroy(self) -> None:
        """Remove everything ``create`` made, whatever it got to; never raises."""
        for index, namespace in enumerate(self.namespaces, start=1):
            ip("netns", "del", namespace, check=False)  # takes the inside veth end with it
            ip("link", "del", f"cb{self.tag}v{index}", check=False)  # the pair, if not moved
        ip("link", "del", self.bridge, check=False)

    def leftovers(self) -> list[str]:
        """Namespaces and interfaces of this topology that still exist."""
        names = ip("netns", "list").stdout.split() + [
            line.split(":")[1].strip().split("@")[0]
            for line in ip("-o", "link", "show").stdout.splitlines()]
        return [name for name in names if self.tag in name]


class PasswordPostgres:
    """A PostgreSQL 15 cluster of its own: role ``coopbench`` with a password (SCRAM), only
    from ``subnet``, on ``address``; the superuser only over a Unix socket in its data dir."""

    ROLE = DATABASE = "coopbench"

    def __init__(self, address: str, subnet: ipaddress.IPv4Network):
        self.address, self.subnet, self.port = address, subnet, free_port(address)
        self.password = secrets.token_hex(16)
        # Not under pytest's tmp_path: its parents are root-only (0700) and postgres must
        # reach the data directory. mkdtemp makes it 0700, then it is postgres's own.
        self.root = Path(tempfile.mkdtemp(prefix="cb-pg-"))
        self.data, self.socket_dir = self.root / "data", self.root / "socket"

    @property
    def url(self) -> str:
        return (f"postgresql+psycopg://{self.ROLE}:{self.password}@{self.address}:{self.port}"
                f"/{self.DATABASE}")

    @property
    def log_file(self) -> Path:
        return self.root / "postgres.log"

    def _as_postgres(self, *argv: str) -> None:
        subprocess.run(["runuser", "-u", "postgres", "--", *argv], check=True,
                       capture_output=True, text=True)

    def start(self) -> "PasswordPostgres":
        self.socket_dir.mkdir()
        shutil.chown(self.root, "postgres", "postgres")
        shutil.chown(self.socket_dir, "postgres", "postgres")
        # initdb refuses to run as root. --auth-host=reject until pg_hba.conf is written.
        self._as_postgres(str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres",
                          "-E", "UTF8", "--auth-local=trust", "--auth-host=reject",
                          "--no-instructions")
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write(f"\nlisten_addresses = '{self.address}'\nport = {self.port}\n"
                       f"unix_socket_directories = '{self.socket_dir}'\n"
                       "password_encryption = 'scram-sha-256'\n"
                       "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n")
        # The superuser over the socket (its directory is postgres's, mode 0700); the
        # coopbench role over TCP from the hosts' subnet with a password; nothing else.
        (self.data / "pg_hba.conf").write_text(
            "local all postgres trust\n"
            f"host {self.DATABASE} {self.ROLE} {self.subnet} scram-sha-256\n")
        self._as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.log_file),
                          "-w", "-t", "60", "start")
        with psycopg.connect(host=str(self.socket_dir), port=self.port, user="postgres",
                             dbname="postgres", autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                sql.Identifier(self.ROLE), sql.Literal(self.password)))
            conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(
                sql.Identifier(self.DATABASE), sql.Identifier(self.ROLE)))
        return self

    def stop(self) -> None:
        """Stop the cluster (if it runs) and remove its directory; never raises."""
        if (self.data / "postmaster.pid").exists():
            subprocess.run(["runuser", "-u", "postgres", "--", str(PG_BIN / "pg_ctl"), "-D",
                            str(self.data), "-m", "immediate", "-w", "-t", "60", "stop"],
                           capture_output=True)
        shutil.rmtree(self.root, ignore_errors=True)


class NamespaceHost:
    """One "host": processes in a network namespace, each in a UTS namespace of its own
    named ``hostname``, with the same environment."""

    def __init__(self, namespace: str, hostname: str, env: dict[str, str], workdir: Path):
        self.namespace, self.hostname, self.env, self.workdir = namespace, hostname, env, workdir
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.worker: subprocess.Popen | None = None

    def command(self, *argv: str) -> list[str]:
        # ip netns exec, unshare (without --fork) and sh all exec: the pid is the program's
        return ["ip", "netns", "exec", self.namespace, "unshare", "--uts",
                "sh", "-c", 'hostname "$0" && exec "$@"', self.hostname, *argv]

    def run(self, *argv: str, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run(self.command(*argv), env=self.env, cwd=self.workdir,
                              capture_output=True, text=True, timeout=timeout)

    def start_worker(self, python: str, queue: str, concurrency: int) -> None:
        self.worker = subprocess.Popen(
            self.command(python, "-m", "celery", "-A", "workers", "worker", "--concurrency",
                         str(concurrency), "--loglevel", "INFO", "-n", f"w@{self.hostname}",
                         "-Q", queue),
            env=self.env, cwd=self.workdir, stdout=open(self.log, "wb"), stderr=subprocess.STDOUT,
            start_new_session=True)  # own process group: signals reach the pool children

    @property
    def log(self) -> Path:
        return self.workdir / "worker.log"

    def ready(self) -> bool:
        return self.log.exists() and " ready." in self.log.read_text(errors="replace")

    def alive(self) -> bool:
        return self.worker is not None and self.worker.poll() is None

    def stop_worker(self) -> None:
        if self.worker is None:
            return
        for sig, wait_s in ((signal.SIGTERM, STOP_GRACE_S), (signal.SIGKILL, 10)):
            if self.worker.poll() is not None:
                break
            try:
                os.killpg(self.worker.pid, sig)
            except ProcessLookupError:
                break
            try:
                self.worker.wait(timeout=wait_s)
            except subprocess.TimeoutExpired:
                continue
        try:  # the pool children too, should the main process have gone first
            os.killpg(self.worker.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
