"""A second Docker engine on this machine, for tests where two hosts must not share one.

It has its own data root, socket, bridge and engine id. Docker 20.10 derives the id from
``/etc/docker/key.json``, so the daemon runs in a mount namespace of its own where
``/etc/docker`` is an empty directory of the test's. Its bridge is one the fixture creates
(``--bridge none`` would make dockerd delete the host's ``docker0``!), and it touches no
iptables rules. Workers use it through ``DOCKER_HOST``; it only pulls and holds images."""

import shutil
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import docker

START_TIMEOUT_S = 60


class SecondEngine:
    def __init__(self, root: Path):
        self.root = root
        # Sockets live under a short path: a Unix socket's path is at most 107 bytes, and
        # containerd's would be too long under pytest's temporary directory.
        self.run_dir = Path(tempfile.mkdtemp(prefix="cb-engine-"))
        self.socket = self.run_dir / "docker.sock"
        self.bridge = f"cb{uuid.uuid4().hex[:8]}"
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def start(self) -> "SecondEngine":
        (self.root / "etc").mkdir(parents=True, exist_ok=True)
        Path("/etc/docker").mkdir(exist_ok=True)  # the mount point in the new namespace
        subprocess.run(["ip", "link", "add", self.bridge, "type", "bridge"], check=True)
        dockerd = (f"mount --bind {self.root / 'etc'} /etc/docker && exec dockerd "
                   f"--data-root {self.root / 'data'} --exec-root {self.run_dir / 'exec'} "
                   f"--pidfile {self.root / 'docker.pid'} -H {self.url} --bridge {self.bridge} "
                   "--iptables=false --ip6tables=false --ip-masq=false")
        log = open(self.root / "dockerd.log", "wb")
        self.process = subprocess.Popen(["unshare", "--mount", "sh", "-c", dockerd],
                                        stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                self.client().ping()
                return self
            except Exception:  # not listening yet
                time.sleep(0.5)
        tail = (self.root / "dockerd.log").read_text()[-2000:]
        self.stop()
        raise RuntimeError(f"the second Docker engine did not start:\n{tail}")

    def client(self) -> docker.DockerClient:
        return docker.DockerClient(base_url=self.url)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        subprocess.run(["ip", "link", "delete", self.bridge], capture_output=True)
        shutil.rmtree(self.root, ignore_errors=True)
        shutil.rmtree(self.run_dir, ignore_errors=True)
