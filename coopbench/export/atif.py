"""Agents' trajectories in ATIF, the Agent Trajectory Interchange Format (harbor's RFC 0001,
schema ``ATIF-v1.8``) that Harbor, Docent and NVIDIA's tools read.

An agent's stored trajectory is mini-swe-agent v2's message list (upstream's
``mini_swe_agent_v2`` and coopbench's ``mini-swe-agent`` write the same shape). It maps to
ATIF steps as harbor's own mini-swe-agent converter maps it
(``harbor/agents/installed/mini_swe_agent.py``), with these differences, each to keep what
the messages say: a step's cost is the call's own ``extra.cost`` (harbor apportions the
total); the thought stays in ``message`` only (``reasoning_content`` is the provider's
reasoning, when it sent one); a user message after the task (a teammate's message, the
team's task list, a format error without its response) is a user step of its own, where
harbor folds it into the previous observation or drops it; the exit message is a system
step; a format error that kept the model's response is an agent step whose observation is
the error.

The agents of one job are linked by ATIF's own means: every document of the job shares the
job id as ``session_id`` (run-scoped: "MAY share"), each has its own ``trajectory_id``, and
a job document (``job_atif``) is the root: coopbench dispatched each agent without a model
call (``llm_call_count`` 0), and each dispatch's observation holds a
``subagent_trajectory_ref`` to that agent's file (``trajectory_path``). Messages between
agents are marked in ``extra``: the sends a command makes (on its tool call), the messages
an agent receives (on its user step), each with the peer's trajectory file.
"""

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

from coopbench.agents.send_message import extract_sends

SCHEMA_VERSION = "ATIF-v1.8"
JOB_FILE = "job.atif.json"  # the job's root document, next to its agents' files
RECEIVED = re.compile(r"^\[(?:Message|Reply) from (\w+)", re.MULTILINE)
NO_MESSAGES = "(no trajectory was stored for this agent)"
# json.dumps(value, default=str), without making an encoder per call (``default`` does)
_AS_TEXT = json.JSONEncoder(default=str)


@dataclass(frozen=True)
class AtifJob:
    """What the documents of one job need besides the agents' messages."""

    job_id: str
    agent_name: str  # the run's agent (``mini_swe_agent_v2``, ``mini-swe-agent``, ...)
    agent_version: str  # of the package that provides the agent, as installed at export
    coopbench_version: str
    model: str | None
    agent_files: dict[str, str]  # every agent id of the job -> its ATIF file name, in order
    facts: dict = field(default_factory=dict)  # repo, task, setting...: the root's ``extra``


def trajectory_id(job_id: str, agent_id: str) -> str:
    """The document-unique id of one agent's trajectory (the job's own is the job id)."""
    return f"{job_id}/{agent_id}"


def atif_trajectory(messages: list, agent_id: str, job: AtifJob,
                    outcome: dict | None = None) -> dict:
    """One agent's trajectory as an ATIF document (a JSON-ready dict, ``None`` left out).

    ``messages``: the agent's stored message list. ``outcome``: what the store recorded of
    the agent (status, steps, cost, feature ids...), kept in the root's ``extra``.
    Steps: ``source`` system, user (the task, messages received) or agent (one per model
    call: ``message`` the thought, ``tool_calls`` the commands, ``observation`` their
    output, ``metrics`` tokens and cost, ``timestamp`` when the reply came)."""
    peers = {a: f for a, f in job.agent_files.items() if a != agent_id}
    steps = _Steps(peers).convert([m for m in messages if isinstance(m, dict)])
    converted = bool(steps)
    steps = steps or [_step(1, "system", NO_MESSAGES)]  # ATIF wants one step at least
    coopbench = {**job.facts, "job_id": job.job_id, "agent_id": agent_id,
                 "job_trajectory_path": JOB_FILE, "peers": [
                     {"agent_id": a, "trajectory_id": trajectory_id(job.job_id, a),
                      "trajectory_path": f} for a, f in peers.items()]}
    if outcome:
        coopbench["outcome"] = _present(outcome)
    document = {
        "schema_version": SCHEMA_VERSION,
        "session_id": job.job_id,
        "trajectory_id": trajectory_id(job.job_id, agent_id),
        "agent": _agent_config(job),
        "steps": steps,
        "final_metrics": _final_metrics(steps, outcome),
        "extra": {"coopbench": coopbench},
    }
    if not converted:
        document["notes"] = "The store holds no messages for this agent; the one step says so."
    return _present(document)


def job_atif(job: AtifJob, outcomes: dict[str, dict]) -> dict:
    """The job's root document: coopbench's dispatch of each agent, linked to the agent's
    own document by ``subagent_trajectory_ref`` (file-ref form, plus its trajectory id)."""
    steps = [_step(1, "system", _job_text(job))]
    for agent_id, path in job.agent_files.items():
        call_id = f"dispatch_{agent_id}"
        outcome = outcomes.get(agent_id) or {}
        ref = {"trajectory_id": trajectory_id(job.job_id, agent_id), "session_id": job.job_id,
               "trajectory_path": path, "extra": {"agent_id": agent_id}}
        steps.append(_step(
            len(steps) + 1, "agent", f"run {agent_id}", llm_call_count=0,
            tool_calls=[{"tool_call_id": call_id, "function_name": "run_agent",
                         "arguments": _present({"agent_id": agent_id,
                                                "feature_ids": outcome.get("feature_ids")})}],
            observation={"results": [{"source_call_id": call_id,
                                      "content": _AS_TEXT.encode(_present(outcome)),
                                      "subagent_trajectory_ref": [ref]}]}))
    return _present({
        "schema_version": SCHEMA_VERSION,
        "session_id": job.job_id,
        "trajectory_id": job.job_id,
        "agent": {"name": "coopbench", "version": job.coopbench_version,
                  "extra": {"dispatches": job.agent_name}},
        "steps": steps,
        "final_metrics": _present({"total_cost_usd": _total_cost(outcomes.values()),
                                   "total_steps": len(steps)}),
        "notes": "coopbench's dispatch of the job's agents; each agent's trajectory is the "
                 "file its subagent_trajectory_ref names (same session_id).",
        "extra": {"coopbench": {**job.facts, "job_id": job.job_id}},
    })


class _Steps:
    """A message list -> ATIF steps, in order (one pass; tool results join their call)."""

    def __init__(self, peers: dict[str, str]):
        self.peers = peers  # the other agents of the job -> their ATIF files
        self.steps: list[dict] = []
        self.calls: dict[str, dict] = {}  # tool_call_id -> the agent step that made it

    def convert(self, messages: list[dict]) -> list[dict]:
        for message in messages:
            role = message.get("role")
            if role == "assistant":
                self._agent(message, message)
            elif role == "tool":
                self._observation(message)
            elif role == "user" and _format_error_response(message):
                self._format_error(message)
            elif role == "user":
                self._user(message)
            else:  # system, the exit message, anything unknown: the harness speaking
                self._system(message)
        return self.steps

    def _next(self) -> int:
        return len(self.steps) + 1

    def _system(self, message: dict) -> None:
        role = message.get("role")
        extra = message.get("extra") or {}
        text = _text(message.get("content"))
        if role == "exit":
            text = f"exit: {extra.get('exit_status', '')}" + (f"\n{text}" if text else "")
        self.steps.append(_step(self._next(), "system", text, timestamp=_timestamp(extra),
                                extra=None if role == "system" else {"role": role, **extra}))

    def _user(self, message: dict) -> None:
        text = _text(message.get("content"))
        extra = dict(message.get("extra") or {})
        senders = self._senders(text)
        if text.startswith("[Message from ") and senders:  # a teammate's message
            extra["message_from"] = senders[0]
            extra["from_trajectory_path"] = self.peers[senders[0]]
        self.steps.append(_step(self._next(), "user", text, timestamp=_timestamp(extra),
                                extra=extra or None))

    def _senders(self, text: str) -> list[str]:
        """The teammates whose messages ``text`` shows (``[Message from X]``, ``[Reply
        from X]``), in order."""
        # Most observations: skip the regex over their output ("[" first: a one-character
        # search is several times faster than a word's, on long outputs)
        if "[" not in text or "from " not in text:
            return []
        return [s for s in RECEIVED.findall(text) if s in self.peers]

    def _agent(self, message: dict, reply: dict, error: str | None = None) -> None:
        """A model call: ``reply`` is the model's message (``message`` itself, or the reply a
        format error kept); ``message``'s ``extra`` has its time, usage and cost."""
        extra = message.get("extra") or {}
        step_id = self._next()
        tool_calls = [self._tool_call(step_id, i, call)
                      for i, call in enumerate(reply.get("tool_calls") or [], start=1)]
        step = _step(step_id, "agent", _text(reply.get("content")), timestamp=_timestamp(extra),
                     reasoning_content=reply.get("reasoning_content") or None,
                     tool_calls=tool_calls or None, metrics=_metrics(extra), llm_call_count=1,
                     extra={"summary": True} if extra.get("summary") else None)
        if error is not None:
            step["observation"] = {"results": [{"content": error,
                                                "extra": {"interrupt_type": "FormatError"}}]}
        self.steps.append(step)
        for call in tool_calls:
            self.calls[call["tool_call_id"]] = step

    def _tool_call(self, step_id: int, index: int, call: dict) -> dict:
        function = call.get("function") or {}
        name = function.get("name") or "bash"
        arguments = _arguments(function.get("arguments"))
        sends = [{**send, "to_trajectory_path": self.peers.get(send["to"])}
                 for send in _sends(name, arguments)] if self.peers else []
        return _present({"tool_call_id": call.get("id") or f"call_{step_id}_{index}",
                         "function_name": name, "arguments": arguments,
                         "extra": {"send_message": sends} if sends else None})

    def _format_error(self, message: dict) -> None:
        """mini-swe-agent 2.x keeps the model's reply on a format error: the call happened."""
        self._agent(message, _format_error_response(message), error=_text(message.get("content")))

    def _observation(self, message: dict) -> None:
        call_id = message.get("tool_call_id")
        step = self.calls.get(call_id) or next(
            (s for s in reversed(self.steps) if s["source"] == "agent"), None)
        if step is None:  # a tool result before any model call: keep it, as the harness's
            self._system(message)
            return
        extra = message.get("extra") or {}
        text = _text(message.get("content"))
        result_extra = {k: extra[k] for k in ("returncode", "exception_info") if extra.get(k)
                        is not None and extra.get(k) != ""}
        received = self._senders(text)
        if received:  # replies to a `send_message --wait`
            result_extra["messages_from"] = received
        result = _present({"source_call_id": call_id if call_id in self.calls else None,
                           "content": text, "extra": result_extra or None})
        step.setdefault("observation", {"results": []})["results"].append(result)
        if "timestamp" not in step and _timestamp(extra):  # a reply without its own time
            step["timestamp"] = _timestamp(extra)


def _step(step_id: int, source: str, message: str, **fields) -> dict:
    return _present({"step_id": step_id, "source": source, "message": message, **fields})


def _agent_config(job: AtifJob) -> dict:
    return _present({"name": job.agent_name, "version": job.agent_version,
                     "model_name": job.model})


def _job_text(job: AtifJob) -> str:
    facts = ", ".join(f"{k} {v}" for k, v in job.facts.items())
    return f"coopbench job {job.job_id}: {facts}; agents {', '.join(job.agent_files)}"


def _text(content) -> str:
    """A message's content as text: parts of a multimodal content joined (harbor does too)."""
    if content is None:
        return ""
    if isinstance(content, list):
        return "\n".join(p.get("text", "") or "" if isinstance(p, dict) else str(p)
                         for p in content)
    return str(content)


def _arguments(raw) -> dict:
    """A tool call's arguments as an object; what does not parse is kept as the command."""
    if isinstance(raw, dict):
        return raw
    try:
        parsed = json.loads(raw or "{}")
    except (TypeError, ValueError):
        return {"command": str(raw)}
    return parsed if isinstance(parsed, dict) else {"command": str(raw)}


def _sends(function_name: str, arguments: dict) -> list[dict]:
    """The messages a tool call sends: ``send_message`` written in a bash command (how both
    agents send), or upstream's legacy ``send_message`` tool."""
    if function_name == "send_message":
        return [{"to": arguments.get("recipient"), "content": arguments.get("content"),
                 "wait": bool(arguments.get("wait"))}]
    sends, _ = extract_sends(str(arguments.get("command", "")))
    return [{"to": s.recipient, "content": s.text, "wait": s.wait} for s in sends]


def _format_error_response(message: dict) -> dict | None:
    """The model's reply kept on a format error's message, if it was (mini-swe-agent 2.x)."""
    extra = message.get("extra") or {}
    response = extra.get("response")
    if extra.get("interrupt_type") != "FormatError" or not isinstance(response, dict):
        return None
    choices = response.get("choices") or [{}]
    return choices[0].get("message") or None


def _timestamp(extra: dict) -> str | None:
    """mini-swe-agent's ``extra.timestamp`` (Unix seconds) as ISO 8601 UTC."""
    stamp = extra.get("timestamp")
    if isinstance(stamp, int | float) and not isinstance(stamp, bool):
        return datetime.fromtimestamp(stamp, UTC).isoformat()
    return None


def _metrics(extra: dict) -> dict | None:
    """Tokens from the provider's usage; cost from the call's own ``extra.cost`` (a zero
    cost is left out: it is what an unpriced model gives, not a free call)."""
    response = extra.get("response")
    usage = (response.get("usage") if isinstance(response, dict) else None) or {}
    cached = (usage.get("prompt_tokens_details") or {}).get("cached_tokens")
    details = {k: usage[k] for k in ("prompt_tokens_details", "completion_tokens_details")
               if usage.get(k)}
    metrics = {"prompt_tokens": usage.get("prompt_tokens"),
               "completion_tokens": usage.get("completion_tokens"),
               "cached_tokens": cached or None,
               "cost_usd": extra.get("cost") or None,
               "extra": details or None}
    return _present(metrics) or None


def _final_metrics(steps: list[dict], outcome: dict | None) -> dict:
    metrics = [s["metrics"] for s in steps if s.get("metrics")]

    def total(key: str) -> float | None:  # None: no step reported it
        values = [m[key] for m in metrics if key in m]
        return sum(values) if values else None

    cost = (outcome or {}).get("cost_usd")
    return _present({"total_prompt_tokens": total("prompt_tokens"),
                     "total_completion_tokens": total("completion_tokens"),
                     "total_cached_tokens": total("cached_tokens"),
                     "total_cost_usd": cost if cost is not None else total("cost_usd"),
                     "total_steps": len(steps)})


def _total_cost(outcomes) -> float | None:
    costs = [o.get("cost_usd") for o in outcomes]
    return None if not costs or None in costs else sum(costs)


def _present(fields: dict) -> dict:
    """ATIF's optional fields are left out, not null (harbor's ``exclude_none``)."""
    return {k: v for k, v in fields.items() if v is not None}
