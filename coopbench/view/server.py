"""The pages served on 127.0.0.1, read from the store at each request (a running run's
page is current when reloaded). The addresses are the written files' (``/index.html``,
``/jobs/<id>.html``), so the same relative links work served and offline."""

import errno
import logging
import re
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from coopbench.errors import ConfigError, CoopbenchError
from coopbench.store import Store
from coopbench.view.job_data import load_job_page
from coopbench.view.render import render_job_page, render_run_page
from coopbench.view.run_rows import load_run_listing

log = logging.getLogger(__name__)

JOB_PATH = re.compile(r"^/jobs/([0-9a-fA-F-]{36})\.html$")


class PortInUse(ConfigError):
    """The address asked for is taken: the user picks another port (input, exit code 2)."""


def make_server(store: Store, run_name: str, host: str, port: int) -> ThreadingHTTPServer:
    """A server bound to (host, port), not yet serving; PortInUse if that address is taken."""
    load_run_listing(store, run_name)  # an unknown or empty run fails before anything listens
    try:
        server = ThreadingHTTPServer((host, port), _handler(store, run_name))
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            raise PortInUse(f"port {port} on {host} is in use; choose another with --port") from None
        raise
    server.daemon_threads = True
    return server


def _handler(store: Store, run_name: str) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            try:
                if path in ("/", "/index.html"):
                    return self._send(HTTPStatus.OK, render_run_page(load_run_listing(store, run_name)))
                found = JOB_PATH.match(path)
                if found:
                    return self._send(HTTPStatus.OK, render_job_page(load_job_page(store, run_name, found[1])))
            except CoopbenchError as error:  # a job not in the run, the store away
                return self._send(HTTPStatus.NOT_FOUND, f"<p>{_escape(str(error))}</p>")
            self._send(HTTPStatus.NOT_FOUND, "<p>not found</p>")

        def _send(self, status: HTTPStatus, html: str) -> None:
            body = html.encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args) -> None:
            log.info("%s " + format, self.address_string(), *args)

    return Handler


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
