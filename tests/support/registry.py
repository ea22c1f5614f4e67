"""A real Docker registry on a loopback port, for tests that push and pull images.

``LocalRegistry`` runs Debian's ``docker-registry`` (the Distribution registry, installed by
scripts/setup-docker.sh) as a subprocess on ``127.0.0.1:<free port>``, with its storage and
its log in a directory the test owns. It can be stopped and started again on the same port
with the same storage, so a test can take the registry away mid-run and bring it back.
``push`` puts a local image into it. ``CuttableProxy`` sits in front of it and can drop
every connection at once, to make the registry vanish in the middle of a pull.

The Docker daemon treats registries on 127.0.0.0/8 as insecure (plain HTTP) by default, so
no daemon configuration is needed.

What the daemon (20.10) asks the registry, as the access log shows it (``requests()``):
- every pull first pings ``GET /v2/`` (not attributable to a repository);
- a pull by tag always sends ``HEAD /v2/<repo>/manifests/<tag>`` (a GET if HEAD fails);
  then ``GET .../manifests/sha256:...`` only if the daemon has not cached that manifest
  (it keeps manifests it fetched before, by digest, whatever registry they came from), and
  ``GET .../blobs/sha256:...`` for each layer it does not have;
- a pull by digest of an image present locally sends nothing after the ping.
So ``manifest_requests(repo)`` counts pulls by tag reliably, ``blob_gets(repo)`` counts
downloads; ``manifest_gets(repo)`` depends on the daemon's cache, not on the pull alone.

Errors as the docker SDK (7.x) reports them when pulling from here (``images.pull`` and
``api.pull(..., stream=True, decode=True)`` alike, raised before any stream item):
- a tag, digest or repository the registry does not have: ``docker.errors.NotFound``
  (404), explanation "manifest for <ref> not found: manifest unknown: manifest unknown";
- the registry down (connection refused): ``docker.errors.APIError`` (500, not a
  NotFound), explanation 'Get "http://127.0.0.1:PORT/v2/": dial tcp 127.0.0.1:PORT:
  connect: connection refused'.
A connection lost while blobs download is retried by the daemon (up to 5 retries, after
5+10+15+20+25 s, "Retrying in N seconds" items), so a registry back within ~75 s lets the
pull finish. Past that the stream ends with an item ``{"error": "dial tcp ...: connect:
connection refused", "errorDetail": {...}}`` and no exception; ``images.pull`` drops that
item and then raises ``docker.errors.ImageNotFound`` ("No such image: <ref>").
"""

from __future__ import annotations

import atexit
import re
import shutil
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import docker

from coopbench.ops.localcluster import free_port

REGISTRY_BINARY = "docker-registry"

_CONFIG = """\
version: 0.1
log:
  level: info
  formatter: text
  accesslog:
    disabled: false
storage:
  filesystem:
    rootdirectory: {storage}
  delete:
    enabled: true
http:
  addr: {address}
  secret: coopbench-test-registry
"""

# One access-log line per request, combined log format, e.g.
# 127.0.0.1 - - [30/Nov/2026:06:59:02 +0000] "GET /v2/foo/manifests/latest HTTP/1.1" 404 96 "" "curl/7.88.1"
_ACCESS_LINE = re.compile(r'"(?P<method>[A-Z]+) (?P<uri>/v2/\S*) HTTP/[\d.]+" (?P<status>\d{3}) ')

# No HTTP(S)_PROXY from the environment for a loopback address.
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class RegistryError(RuntimeError):
    """The registry did not start, or a push to it failed."""


class LocalRegistry:
    """``docker-registry serve`` on 127.0.0.1, storing its blobs under ``directory``.

    ``directory`` holds ``config.yml``, ``storage/`` and ``registry.log``. The log is
    appended to across restarts, so the request counts cover the registry's whole life.
    A request's access-log line is written as its response completes, so a count read the
    instant a pull returns may still miss it by a moment. The port is chosen once: ``stop()``
    then ``start()`` serves the same storage at the same address.
    Usable as a context manager (starts on enter, stops on exit).
    """

    def __init__(self, directory: str | Path, port: int | None = None):
        if shutil.which(REGISTRY_BINARY) is None:
            raise RegistryError(f"{REGISTRY_BINARY} is not installed (scripts/setup-docker.sh installs it)")
        self.directory = Path(directory)
        self.port = port or free_port()
        self.storage = self.directory / "storage"
        self.config_path = self.directory / "config.yml"
        self.log_path = self.directory / "registry.log"
        self._process: subprocess.Popen | None = None
        atexit.register(self.stop)  # no registry left behind by a test that never stopped it

    @property
    def address(self) -> str:
        """``127.0.0.1:PORT``, the registry part of an image reference."""
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.address}"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self, timeout_s: float = 30.0) -> LocalRegistry:
        """Start the registry (same port, same storage as before) and wait until /v2/ answers."""
        if self.running:
            return self
        self.storage.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(_CONFIG.format(storage=self.storage, address=self.address))
        with open(self.log_path, "ab") as log:
            self._process = subprocess.Popen(
                [REGISTRY_BINARY, "serve", str(self.config_path)],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout_s
        while not self._answers():
            if self._process.poll() is not None:
                raise RegistryError(
                    f"{REGISTRY_BINARY} on {self.address} exited with {self._process.returncode};"
                    f" log tail:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                self.stop()
                raise RegistryError(
                    f"{REGISTRY_BINARY} on {self.address} did not answer GET /v2/ within"
                    f" {timeout_s:.0f} s; log tail:\n{self.log_tail()}")
            time.sleep(0.1)
        return self

    def stop(self, timeout_s: float = 10.0) -> None:
        """Terminate the registry; kill it if it has not exited after ``timeout_s``."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def _answers(self) -> bool:
        try:
            with _DIRECT.open(f"{self.url}/v2/", timeout=1) as response:
                return response.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def requests(self) -> list[tuple[str, str, int]]:
        """``(method, uri, status)`` of every request so far, from the access log, in order."""
        return [(m["method"], m["uri"], int(m["status"]))
                for m in _ACCESS_LINE.finditer(self.log_text())]

    def manifest_requests(self, repository: str, *methods: str) -> int:
        """How many ``/v2/<repository>/manifests/...`` requests the registry has answered
        (any status), of the given ``methods`` (default HEAD and GET)."""
        return self._count(f"/v2/{repository}/manifests/", methods or ("GET", "HEAD"))

    def manifest_gets(self, repository: str) -> int:
        """Manifest GETs for ``repository``; the daemon skips them for manifests it has cached."""
        return self.manifest_requests(repository, "GET")

    def blob_gets(self, repository: str) -> int:
        """Blob (layer or config) downloads from ``repository``, any status."""
        return self._count(f"/v2/{repository}/blobs/", ("GET",))

    def _count(self, prefix: str, methods: tuple[str, ...]) -> int:
        return sum(1 for method, uri, _ in self.requests()
                   if method in methods and uri.startswith(prefix))

    def __enter__(self) -> LocalRegistry:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def push(client: docker.DockerClient, image: str, registry: LocalRegistry, repository: str,
         tag: str = "latest", remove_tag: bool = False) -> tuple[str, str]:
    """Push local ``image`` to ``registry`` as ``<repository>:<tag>``.

    Returns ``(reference, digest_reference)``: ``<address>/<repository>:<tag>`` and
    ``<address>/<repository>@sha256:...``. With ``remove_tag`` the registry tag is removed
    locally afterwards, whether the push worked or not (the image stays, under ``image``).
    Raises ``RegistryError`` on an error item in the push stream.
    """
    repo = f"{registry.address}/{repository}"
    reference = f"{repo}:{tag}"
    if not client.images.get(image).tag(repo, tag):
        raise RegistryError(f"could not tag {image} as {reference}")
    digest = None
    try:
        # The daemon reports push errors (registry unreachable included) as stream items.
        for item in client.api.push(repo, tag=tag, stream=True, decode=True):
            if "error" in item:
                raise RegistryError(f"push of {reference} failed: {item['error']}")
            digest = (item.get("aux") or {}).get("Digest") or digest
    finally:
        if remove_tag:
            client.images.remove(reference)
    if digest is None:
        raise RegistryError(f"push of {reference} reported no digest")
    return reference, f"{repo}@{digest}"


class CuttableProxy:
    """A TCP proxy on 127.0.0.1:<free port> in front of ``upstream`` ("host:port").

    ``cut()`` closes every open connection and the listening socket, so new connections are
    refused; ``restore()`` listens again on the same port. ``cut_after(n)`` cuts by itself
    once ``n`` more bytes have gone to the clients, to break a pull in the middle of a layer.
    ``bytes_to_client`` and ``bytes_to_upstream`` count what was forwarded.
    Images pulled through it are named ``<proxy.address>/...``, not ``<registry.address>/...``.
    """

    def __init__(self, upstream: str, port: int | None = None):
        host, _, upstream_port = upstream.rpartition(":")
        self.upstream = (host, int(upstream_port))
        self.port = port or free_port()
        self.bytes_to_client = 0
        self.bytes_to_upstream = 0
        self._lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        self._listener: socket.socket | None = None
        self._cut_at: int | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def is_cut(self) -> bool:
        return self._listener is None

    def start(self) -> CuttableProxy:
        return self.restore()

    def restore(self) -> CuttableProxy:
        """Listen (again) on the proxy's port."""
        with self._lock:
            if self._listener is not None:
                return self
            listener = socket.socket()
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind(("127.0.0.1", self.port))
            listener.listen(16)
            self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()
        return self

    def cut(self) -> None:
        """Close the listener and every open connection: the upstream is gone."""
        with self._lock:
            listener, self._listener = self._listener, None
            connections, self._connections = self._connections, set()
            self._cut_at = None
        for sock in ([listener] if listener else []) + list(connections):
            close_socket(sock)

    def cut_after(self, more_bytes: int) -> None:
        """Cut once ``more_bytes`` more bytes have been forwarded to clients."""
        with self._lock:
            self._cut_at = self.bytes_to_client + more_bytes

    def stop(self) -> None:
        self.cut()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # listener closed by cut()
            try:
                upstream = socket.create_connection(self.upstream, timeout=5)
                upstream.settimeout(None)
            except OSError:
                close_socket(client)
                continue
            with self._lock:
                if self._listener is not listener:  # cut while connecting
                    close_socket(client)
                    close_socket(upstream)
                    return
                self._connections.update((client, upstream))
            threading.Thread(target=self._pump, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket, to_upstream: bool) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
                with self._lock:
                    if to_upstream:
                        self.bytes_to_upstream += len(data)
                        cut_now = False
                    else:
                        self.bytes_to_client += len(data)
                        cut_now = self._cut_at is not None and self.bytes_to_client >= self._cut_at
                if cut_now:
                    self.cut()
                    return
        except OSError:
            pass
        with self._lock:
            self._connections.discard(source)
            self._connections.discard(target)
        close_socket(source)
        close_socket(target)

    def __enter__(self) -> CuttableProxy:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def close_socket(sock: socket.socket) -> None:
    """Shut a proxied connection down both ways and close it; already closed is fine."""
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()
