"""Local services for one-host use (the demo, tests): a Redis if none answers, and worker
processes, each in its own process group so that stopping them stops their children too."""

import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import redis

from coopbench.config import Settings
from coopbench.errors import BrokerUnavailable

log = logging.getLogger(__name__)

STOP_GRACE_S = 30  # warm shutdown: let a running job finish or be re-queued


def redis_answers(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=2).ping())
    except (redis.RedisError, OSError):
        return False


def free_port(address: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on at ``address`` right now (for a private test server)."""
    with socket.socket() as probe:
        probe.bind((address, 0))
        return probe.getsockname()[1]


def wait_for_redis(url: str, timeout_s: float = 5.0) -> bool:
    """True once Redis answers at ``url``; False if it has not within ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not redis_answers(url):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def start_local_redis(url: str, log_dir: Path) -> subprocess.Popen | None:
    """Start redis-server for a localhost ``url`` that does not answer; None if one answers."""
    if redis_answers(url):
        return None
    parsed = urlparse(url)
    server = shutil.which("redis-server")
    if parsed.hostname not in ("localhost", "127.0.0.1") or server is None:
        raise BrokerUnavailable(
            f"no Redis answers at {url} and none can be started here "
            f"({'not a local address' if server else 'redis-server is not installed'}); "
            "start one or set COOPBENCH_BROKER_URL"
        )
    port = str(parsed.port or 6379)
    process = subprocess.Popen(
        [server, "--bind", "127.0.0.1", "--port", port, "--save", "", "--appendonly", "no"],
        stdout=open(log_dir / "redis.log", "wb"), stderr=subprocess.STDOUT, start_new_session=True,
    )
    if wait_for_redis(url):
        return process
    process.kill()
    raise BrokerUnavailable(f"redis-server on port {port} did not start; see {log_dir / 'redis.log'}")


class LocalWorkers:
    """``count`` processes of ``celery -A workers worker``, started and stopped together."""

    def __init__(self, settings: Settings, count: int, concurrency: int, log_dir: Path,
                 name_prefix: str = "local", extra_env: dict[str, str] | None = None,
                 extra_args: tuple[str, ...] = ()):
        self.settings, self.count, self.concurrency = settings, count, concurrency
        self.log_dir, self.name_prefix = log_dir, name_prefix
        self.extra_env = extra_env or {}
        self.extra_args = extra_args  # more `celery worker` flags
        self.processes: list[subprocess.Popen] = []

    def environment(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update({
            "COOPBENCH_DATABASE_URL": self.settings.database_url,
            "COOPBENCH_BROKER_URL": self.settings.broker_url,
            "COOPBENCH_BUS_URL": self.settings.resolved_bus_url,
            "COOPBENCH_QUEUE": self.settings.queue,
            "COOPBENCH_LEASE_S": str(self.settings.lease_s),
            "COOPBENCH_RETRY_BACKOFF_S": str(self.settings.retry_backoff_s),
            "COOPBENCH_RETRY_POLL_S": str(self.settings.retry_poll_s),
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",  # no price list download at import
        })
        env.update(self.extra_env)
        return env

    def start(self) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        for index in range(1, self.count + 1):
            command = [sys.executable, "-m", "celery", "-A", "workers", "worker",
                       "--concurrency", str(self.concurrency), "--loglevel", "INFO",
                       "-n", f"{self.name_prefix}{index}@%h", "-Q", self.settings.queue,
                       *self.extra_args]
            log_file = open(self.log_dir / f"worker-{index}.log", "wb")
            self.processes.append(subprocess.Popen(
                command, env=self.environment(), stdout=log_file, stderr=subprocess.STDOUT,
                start_new_session=True,  # own process group: signals reach the pool children
            ))

    def alive(self) -> bool:
        return any(p.poll() is None for p in self.processes)

    def stop(self) -> None:
        for process in self.processes:
            _signal_group(process, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_S
        for process in self.processes:
            try:
                process.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                _signal_group(process, signal.SIGKILL)
                process.wait()
        self.processes.clear()

    def __enter__(self) -> "LocalWorkers":
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def stop_process(process: subprocess.Popen | None) -> None:
    if process is not None and process.poll() is None:
        _signal_group(process, signal.SIGTERM)
        process.wait(timeout=10)


def _signal_group(process: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        pass
