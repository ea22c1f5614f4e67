"""A redis-server of a test's own, for tests that restart Redis or must not share the suite's."""

import secrets
import shutil
import subprocess
from pathlib import Path

import redis

from coopbench.ops.localcluster import free_port, wait_for_redis


class RedisServer:
    """A redis-server on a free port of ``address``, without persistence (a restart empties
    it). With ``password=True`` it requires a random password, kept in its config file (not
    on the command line, where ``ps`` would show it) and in :attr:`url`."""

    def __init__(self, log_dir: Path, address: str = "127.0.0.1", password: bool = False):
        self.address, self.port = address, free_port(address)
        self.password = secrets.token_hex(16) if password else None
        self.log_dir = log_dir
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}{self.address}:{self.port}/0"

    def start(self) -> "RedisServer":
        """Start it (again, on the same port, after :meth:`kill`); returns once it answers."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        config = self.log_dir / f"redis-{self.port}.conf"
        lines = [f"bind {self.address}", f"port {self.port}", 'save ""', "appendonly no"]
        if self.password:
            lines.append(f"requirepass {self.password}")
        config.write_text("\n".join(lines) + "\n")
        config.chmod(0o600)
        self.process = subprocess.Popen(
            [shutil.which("redis-server") or "redis-server", str(config)],
            stdout=open(self.log_dir / f"redis-{self.port}.log", "ab"), stderr=subprocess.STDOUT,
            start_new_session=True)
        if not wait_for_redis(self.url):
            raise RuntimeError(f"redis-server on {self.address}:{self.port} did not start")
        return self

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url)

    def kill(self) -> None:
        """SIGKILL, as a crash: what it held is gone."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
