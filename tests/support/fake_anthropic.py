"""Scripted model servers for the CLI agents upstream's adapters install in their container:
Anthropic's Messages API for Claude Code (``claude_code``) and OpenAI's Responses API for
Codex (``codex``), so that the CLIs can be run without their providers.

Each server answers from one function of the request body; the helpers build its answers:

  ``FakeAnthropic(answer)``  ``POST /v1/messages`` (streamed as server-sent events when the
                             request asks ``stream``, else one JSON message) and
                             ``/v1/messages/count_tokens``. ``answer(body)`` returns
                             ``tool_use(name, input)`` or ``end_turn(text)``.
  ``FakeResponses(answer)``  ``POST .../responses``, always streamed (Codex asks no other way).
                             ``answer(body)`` returns ``function_call(name, arguments)`` or
                             ``output_text(text)``.

Every request is recorded (path, headers, parsed body, the client's address) in
``server.requests``. The servers listen on every interface: the CLIs run in containers and
reach the host by the Docker bridge's gateway.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

USAGE = {"input_tokens": 100, "output_tokens": 20}


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]  # lower-cased names
    body: dict
    client: str  # the sender's IP address


def tool_use(name: str, tool_input: dict) -> dict:
    """A Messages API answer: one tool call, ``stop_reason`` tool_use."""
    block = {"type": "tool_use", "id": f"toolu_{uuid.uuid4().hex[:12]}", "name": name,
             "input": tool_input}
    return {"content": [block], "stop_reason": "tool_use"}


def end_turn(text: str) -> dict:
    """A Messages API answer: text only, ``stop_reason`` end_turn (the CLI stops)."""
    return {"content": [{"type": "text", "text": text}], "stop_reason": "end_turn"}


def tool_results(body: dict) -> list[str]:
    """The text of every ``tool_result`` block in a Messages API request."""
    found = []
    for message in body.get("messages") or []:
        content = message.get("content")
        for block in content if isinstance(content, list) else []:
            if block.get("type") == "tool_result":
                inner = block.get("content")
                found.append(inner if isinstance(inner, str) else
                             "".join(b.get("text", "") for b in inner or [] if isinstance(b, dict)))
    return found


def function_call(name: str, arguments: dict) -> dict:
    """A Responses API output item: one function call."""
    return {"type": "function_call", "id": f"fc_{uuid.uuid4().hex[:12]}",
            "call_id": f"call_{uuid.uuid4().hex[:12]}", "name": name,
            "arguments": json.dumps(arguments), "status": "completed"}


def output_text(text: str) -> dict:
    """A Responses API output item: an assistant message (the CLI's turn ends)."""
    return {"type": "message", "id": f"msg_{uuid.uuid4().hex[:12]}", "role": "assistant",
            "status": "completed", "content": [{"type": "output_text", "text": text, "annotations": []}]}


def function_outputs(body: dict) -> list[str]:
    """The output of every ``function_call_output`` item in a Responses API request."""
    found = []
    for item in body.get("input") or []:
        if isinstance(item, dict) and item.get("type") == "function_call_output":
            output = item.get("output")
            found.append(output if isinstance(output, str) else json.dumps(output))
    return found


class _Server:
    def __init__(self, answer: Callable[[dict], dict]):
        self.answer = answer
        self.requests: list[Received] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("0.0.0.0", 0), self._handler_class())
        self._server.daemon_threads = True

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    def start(self):
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True,
                         name=type(self).__name__).start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def respond(self, path: str, body: dict) -> tuple[int, str, bytes]:
        raise NotImplementedError

    def _handler_class(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    body = {}
                with server._lock:
                    server.requests.append(Received(
                        self.path, {k.lower(): v for k, v in self.headers.items()}, body,
                        self.client_address[0]))
                status, content_type, data = server.respond(self.path.split("?")[0], body)
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()

        return Handler


def _events(events: list[tuple[str, dict]]) -> bytes:
    return "".join(f"event: {name}\ndata: {json.dumps(data)}\n\n" for name, data in events).encode()


def _json(data: dict) -> tuple[int, str, bytes]:
    return 200, "application/json", json.dumps(data).encode()


class FakeAnthropic(_Server):
    def respond(self, path: str, body: dict) -> tuple[int, str, bytes]:
        if path.endswith("/count_tokens"):
            return _json({"input_tokens": USAGE["input_tokens"]})
        if not path.endswith("/v1/messages"):
            return 404, "application/json", b'{"type": "error", "error": {"type": "not_found_error"}}'
        answer = self.answer(body)
        message = {"id": f"msg_{uuid.uuid4().hex[:12]}", "type": "message", "role": "assistant",
                   "model": body.get("model", ""), "stop_sequence": None, "usage": USAGE, **answer}
        if not body.get("stream"):
            return _json(message)
        events = [("message_start", {"type": "message_start", "message": {
            **message, "content": [], "stop_reason": None, "usage": {**USAGE, "output_tokens": 0}}})]
        for index, block in enumerate(answer["content"]):
            if block["type"] == "text":
                start, delta = {**block, "text": ""}, {"type": "text_delta", "text": block["text"]}
            else:
                start = {**block, "input": {}}
                delta = {"type": "input_json_delta", "partial_json": json.dumps(block["input"])}
            events += [("content_block_start", {"type": "content_block_start", "index": index,
                                                "content_block": start}),
                       ("content_block_delta", {"type": "content_block_delta", "index": index,
                                                "delta": delta}),
                       ("content_block_stop", {"type": "content_block_stop", "index": index})]
        events += [("message_delta", {"type": "message_delta", "usage": {"output_tokens": USAGE["output_tokens"]},
                                      "delta": {"stop_reason": answer["stop_reason"], "stop_sequence": None}}),
                   ("message_stop", {"type": "message_stop"})]
        return 200, "text/event-stream", _events(events)


class FakeResponses(_Server):
    def respond(self, path: str, body: dict) -> tuple[int, str, bytes]:
        if not path.endswith("/responses"):
            return 404, "application/json", b'{"error": {"message": "not found"}}'
        item = self.answer(body)
        response_id = f"resp_{uuid.uuid4().hex[:12]}"
        usage = {"input_tokens": USAGE["input_tokens"], "input_tokens_details": {"cached_tokens": 0},
                 "output_tokens": USAGE["output_tokens"], "output_tokens_details": {"reasoning_tokens": 0},
                 "total_tokens": USAGE["input_tokens"] + USAGE["output_tokens"]}
        events = [{"type": "response.created", "response": {"id": response_id}},
                  {"type": "response.output_item.added", "output_index": 0, "item": item},
                  {"type": "response.output_item.done", "output_index": 0, "item": item},
                  {"type": "response.completed", "response": {"id": response_id, "usage": usage,
                                                              "output": [item]}}]
        return 200, "text/event-stream", _events([(event["type"], event) for event in events])
