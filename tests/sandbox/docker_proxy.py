"""A unix socket in front of the Docker engine's that can play a hung engine.

The engine itself is shared by every test, so it cannot be paused (SIGSTOP); a client
pointed at this socket (``DOCKER_HOST=proxy.url``) sees what such a pause shows: ``hang()``
and every connection, open or new, is accepted and never answered (nothing forwarded either
way); ``resume()`` forwards again, and drops what hung, as a client of an engine that came
back finds its old connections dead and opens new ones.
"""

import socket
import threading
from pathlib import Path

from tests.support.registry import close_socket

ENGINE_SOCKET = "/var/run/docker.sock"


class HangingDockerProxy:
    def __init__(self, path: Path, upstream: str = ENGINE_SOCKET):
        self.path, self.upstream = Path(path), upstream
        self._lock = threading.Lock()
        self._hung = False
        self._live: set[socket.socket] = set()  # forwarded, both ends
        self._frozen: set[socket.socket] = set()  # hung: kept open, never served
        self._listener: socket.socket | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.path}"

    @property
    def hung(self) -> bool:
        return self._hung

    def start(self) -> "HangingDockerProxy":
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(str(self.path))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True,
                         name="docker-proxy").start()
        return self

    def hang(self) -> None:
        with self._lock:
            self._hung = True
        self.freeze_open()

    def freeze_open(self) -> None:
        """What Docker's exec-stream bug shows (moby#38809): the connections open now hang,
        a command's output stream among them, while the engine answers new ones."""
        with self._lock:
            self._frozen |= self._live
            self._live = set()

    def resume(self) -> None:
        with self._lock:
            self._hung = False
            frozen, self._frozen = self._frozen, set()
        for sock in frozen:
            close_socket(sock)

    def stop(self) -> None:
        if self._listener is not None:
            close_socket(self._listener)
            self._listener = None
        with self._lock:
            sockets = self._live | self._frozen
            self._live, self._frozen = set(), set()
        for sock in sockets:
            close_socket(sock)

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # stopped
            with self._lock:
                if self._hung:
                    self._frozen.add(client)
                    continue
            upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                upstream.connect(self.upstream)
            except OSError:
                close_socket(client)
                continue
            with self._lock:
                (self._frozen if self._hung else self._live).update((client, upstream))
            for source, target in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, target), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                with self._lock:
                    live = source in self._live
                if live:
                    target.sendall(data)
                # else: hung; what comes in either way is swallowed
        except OSError:
            pass
        with self._lock:
            frozen = source in self._frozen
            if not frozen:
                self._live.discard(source)
                self._live.discard(target)
        if not frozen:  # a hung connection stays open until resume() drops it
            close_socket(source)
            close_socket(target)

    def __enter__(self) -> "HangingDockerProxy":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

