"""A scripted OpenAI-compatible chat server, so that LLM agents can be tested without an LLM.

It answers ``POST /v1/chat/completions`` (and ``/chat/completions``) from a script per
agent. Point litellm at it with model ``openai/<anything>``, ``api_base`` = ``server.url``
(``http://127.0.0.1:PORT/v1``) and any ``OPENAI_API_KEY`` in the environment.

Routing: each request goes to the script named by ``route(messages)``. The default route is
the agent id the prompts state, ``You are **agent1**`` (solo: ``You are **solo**``), found
in the system or first user message; a request without one (``check_model``'s ping) goes to
the script ``"*"``. To run several jobs in one test, pass your own ``route``, e.g. one that
also keys on the feature title in the task text, and name the scripts accordingly.

Script entries, consumed in order (one per request):
  ``bash("ls", "cat x")``       an assistant turn with one bash tool call per command
  ``text("...")``               plain assistant text, no tool call (the agent's FormatError path)
  ``malformed('{"command": ')`` a bash tool call whose arguments are not valid JSON
  ``http_error(429, "...")``    an HTTP error status with an OpenAI-style error body; ``{api_key}``
                                in the message is replaced by the bearer token received (to test
                                that a provider echoing the key does not leak it)
  a callable ``f(messages)``    returns one of the above; lets a script branch on what it got
When a script runs out the server answers 400 ``fakellm: script ... exhausted``, so a test
that under-scripts fails loudly instead of hanging.

Every response carries ``usage`` (default 100 prompt + 20 completion tokens; ``usage=`` on
an entry overrides it). Every request is recorded in ``server.requests``. The server is a
ThreadingHTTPServer, safe for concurrent agents.

From another process: ``python -m tests.support.fakellm --scripts package.module:NAME``
where NAME is a dict of scripts (or a function returning one); the server prints its URL and
serves until killed. In-process use (pytest) reaches it from Celery worker processes just as well,
since they only need the URL.
"""

from __future__ import annotations

import argparse
import importlib
import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

DEFAULT_USAGE = {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120}
FALLBACK_ROUTE = "*"
AGENT_MARKER = re.compile(r"You are \*\*([\w-]+)\*\*")


@dataclass
class Reply:
    """One scripted answer. Build it with ``bash``, ``text``, ``malformed`` or ``http_error``."""

    content: str | None = None
    tool_calls: list[dict] = field(default_factory=list)
    status: int = 200
    error_body: dict | None = None
    usage: dict | None = None
    delay_s: float = 0.0  # sleep before answering (slow provider, concurrency)


Entry = Reply | Callable[[list[dict]], Reply]


def _tool_call(arguments: str, name: str = "bash") -> dict:
    return {"id": f"call_{uuid.uuid4().hex[:12]}", "type": "function",
            "function": {"name": name, "arguments": arguments}}


def bash(*commands: str, content: str = "", usage: dict | None = None, delay_s: float = 0.0) -> Reply:
    return Reply(content=content, usage=usage, delay_s=delay_s,
                 tool_calls=[_tool_call(json.dumps({"command": c})) for c in commands])


def text(content: str, usage: dict | None = None) -> Reply:
    return Reply(content=content, usage=usage)


def malformed(arguments: str = '{"command": "ls', name: str = "bash") -> Reply:
    return Reply(content="", tool_calls=[_tool_call(arguments, name)])


def http_error(status: int, message: str | None = None, error_type: str | None = None) -> Reply:
    message = message or f"fakellm scripted error {status}"
    error_type = error_type or {401: "invalid_request_error", 404: "invalid_request_error",
                                429: "rate_limit_exceeded"}.get(status, "server_error")
    return Reply(status=status, error_body={"error": {"message": message, "type": error_type,
                                                      "code": str(status), "param": None}})


def submit(content: str = "Done.") -> Reply:
    """The upstream submission procedure's last step."""
    return bash("echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT", content=content)


def apply_patch_command(patch: str, delimiter: str = "COOPBENCH_FAKELLM_PATCH") -> str:
    """A bash command that applies ``patch`` in the repo and writes ``patch.txt`` from it."""
    assert delimiter not in patch
    body = patch if patch.endswith("\n") else patch + "\n"
    return f"git apply <<'{delimiter}' && git diff > patch.txt\n{body}{delimiter}"


def default_route(messages: list[dict]) -> str:
    for message in messages[:2]:
        found = AGENT_MARKER.search(_text_of(message))
        if found:
            return found.group(1)
    return FALLBACK_ROUTE


def _text_of(message: dict) -> str:
    content = message.get("content") or ""
    if isinstance(content, list):  # content parts
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return str(content)


def received_messages(messages: list[dict]) -> list[str]:
    """The ``[Message from X]: ...`` texts an agent has been shown (for branching scripts)."""
    found = []
    for message in messages:
        found += re.findall(r"\[Message from [\w-]+\]: [^\n]*", _text_of(message))
    return found


class FakeLLM:
    def __init__(self, scripts: dict[str, Iterable[Entry]] | None = None,
                 route: Callable[[list[dict]], str] = default_route, host: str = "127.0.0.1",
                 port: int = 0):
        self.route = route
        self.requests: list[dict] = []  # {"route", "path", "body", "status"}
        self.in_flight = self.max_in_flight = 0  # requests being answered at once (and most)
        self._scripts: dict[str, list[Entry]] = {}
        self._lock = threading.Lock()
        for key, entries in (scripts or {}).items():
            self.add(key, *entries)
        self._server = ThreadingHTTPServer((host, port), self._handler_class())
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def add(self, key: str, *entries: Entry) -> None:
        with self._lock:
            self._scripts.setdefault(key, []).extend(entries)

    def remaining(self, key: str) -> int:
        with self._lock:
            return len(self._scripts.get(key, []))

    def requests_for(self, key: str) -> list[dict]:
        with self._lock:
            return [r for r in self.requests if r["route"] == key]

    def start(self) -> FakeLLM:
        # A short poll interval: stop() waits for one poll, and tests stop a server each.
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        name="fakellm", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeLLM:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def answer(self, path: str, body: dict, api_key: str = "") -> tuple[int, dict]:
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            return self._answer(path, body, api_key)
        finally:
            with self._lock:
                self.in_flight -= 1

    def _answer(self, path: str, body: dict, api_key: str) -> tuple[int, dict]:
        messages = body.get("messages") or []
        key = self.route(messages)
        with self._lock:
            script = self._scripts.get(key)
            if script is None and key != FALLBACK_ROUTE:
                key, script = FALLBACK_ROUTE, self._scripts.get(FALLBACK_ROUTE)
            entry = script.pop(0) if script else None
            record = {"route": key, "path": path, "body": body, "status": None}
            self.requests.append(record)
        if entry is None:
            reply = http_error(400, f"fakellm: script {key!r} exhausted or missing",
                               "invalid_request_error")
        else:
            reply = entry(messages) if callable(entry) else entry
        if reply.delay_s:
            time.sleep(reply.delay_s)
        record["status"] = reply.status
        if reply.status != 200:
            return reply.status, json.loads(json.dumps(reply.error_body or {}).replace(
                "{api_key}", api_key.replace('"', "")))
        return 200, self._completion(body.get("model", "fake-model"), reply)

    @staticmethod
    def _completion(model: str, reply: Reply) -> dict:
        message: dict[str, Any] = {"role": "assistant", "content": reply.content}
        if reply.tool_calls:
            message["tool_calls"] = reply.tool_calls
        return {
            "id": f"chatcmpl-{uuid.uuid4().hex[:16]}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [{"index": 0, "message": message,
                         "finish_reason": "tool_calls" if reply.tool_calls else "stop"}],
            "usage": reply.usage or DEFAULT_USAGE,
        }

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                path = self.path.split("?")[0].rstrip("/")
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                if path not in ("/v1/chat/completions", "/chat/completions"):
                    return self._send(404, {"error": {"message": f"no route {path}"}})
                try:
                    body = json.loads(raw or b"{}")
                except json.JSONDecodeError:
                    return self._send(400, {"error": {"message": "request body is not JSON"}})
                bearer = self.headers.get("Authorization", "").removeprefix("Bearer ")
                status, payload = fake.answer(path, body, bearer)
                self._send(status, payload)

            def _send(self, status: int, payload: dict) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:  # keep test output clean
                pass

        return Handler


def _load_scripts(spec: str) -> dict:
    module_name, _, attribute = spec.partition(":")
    scripts = getattr(importlib.import_module(module_name), attribute or "SCRIPTS")
    return scripts() if callable(scripts) else scripts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scripts", required=True, help="module:NAME of a dict of scripts")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    server = FakeLLM(_load_scripts(args.scripts), host=args.host, port=args.port)
    print(server.url, flush=True)
    server._server.serve_forever()


if __name__ == "__main__":
    main()
