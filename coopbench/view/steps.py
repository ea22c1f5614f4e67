"""An agent's steps as the job page shows them, from its trajectory in ATIF.

``coopbench.export.atif`` turns a stored trajectory into ATIF steps (the Agent Trajectory
Interchange Format: ``source`` system, user or agent; an agent step's ``message``,
``reasoning_content``, ``tool_calls``, ``observation`` and ``metrics``). Here, each agent
step (one model call) becomes a ``Step``, carrying the user messages the agent was shown
just before that call (a colleague's ``[Message from ...]``, a nudge) and its cost and
tokens so far. Steps may come as dicts or as pydantic models; both read the same.
"""

import json
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class Step:
    number: int  # 1-based among the agent's steps (model calls)
    timestamp: float | None  # seconds since the epoch; None when the trajectory has none
    thought: str
    commands: list[str]
    observation: str  # what the commands printed (a JSON observation's "output" decoded)
    received: list[str] = field(default_factory=list)  # user messages shown before the call
    sends: list[tuple[str, str]] = field(default_factory=list)  # (to, text) its commands sent
    cost_usd: float = 0.0  # this step's
    tokens: int = 0  # this step's prompt + completion tokens
    total_cost_usd: float = 0.0  # the agent's, up to and including this step
    total_tokens: int = 0


@dataclass(frozen=True)
class Timeline:
    prompt: list[str]  # the system and task text the agent started from
    steps: list[Step]
    trailing: list[str]  # user or system text after the last step (an exit, a late nudge)


def as_dict(item) -> dict:
    """An ATIF object as a plain dict, whatever model class it came in."""
    if hasattr(item, "model_dump"):
        return item.model_dump(exclude_none=True)
    return dict(item)


def timeline(atif_steps: list) -> Timeline:
    prompt: list[str] = []
    pending: list[str] = []  # user text not yet followed by a model call
    steps: list[Step] = []
    cost, tokens = 0.0, 0
    task_given = False
    for raw in atif_steps:
        item = as_dict(raw)
        if item.get("source") != "agent":
            text = message_text(item.get("message"))
            if steps or task_given:  # a colleague's message, a nudge: shown before a call
                pending.append(text)
            else:  # the system text and the task
                prompt.append(text)
                task_given = item.get("source") == "user"
            continue
        step_cost, step_tokens = step_metrics(item)
        cost, tokens = cost + step_cost, tokens + step_tokens
        steps.append(Step(
            number=len(steps) + 1, timestamp=epoch_seconds(item.get("timestamp")),
            thought=thought(item), commands=commands(item), observation=observation(item),
            received=pending, sends=sends(item), cost_usd=step_cost, tokens=step_tokens, total_cost_usd=cost,
            total_tokens=tokens))
        pending = []
    return Timeline(prompt, steps, pending)


def message_text(message) -> str:
    """ATIF's message is a string or (multimodal) a list of content parts."""
    if isinstance(message, list):
        return "".join(str(as_dict(part).get("text") or "") for part in message)
    return str(message or "")


def thought(item: dict) -> str:
    reasoning = item.get("reasoning_content") or ""
    text = message_text(item.get("message"))
    return "\n\n".join(part for part in (reasoning, text) if part.strip())


def commands(item: dict) -> list[str]:
    """Each tool call's command: a bash call's ``command`` argument, else the call as written."""
    found = []
    for call in item.get("tool_calls") or []:
        call = as_dict(call)
        arguments = call.get("arguments")
        if isinstance(arguments, str):
            try:
                arguments = json.loads(arguments)
            except ValueError:
                found.append(arguments)
                continue
        if isinstance(arguments, dict) and isinstance(arguments.get("command"), str):
            found.append(arguments["command"])
        else:
            found.append(f"{call.get('function_name', '?')}({json.dumps(arguments)})")
    return found


def sends(item: dict) -> list[tuple[str, str]]:
    """The send_message calls the ATIF converter found in the step's commands."""
    return [(str(send.get("to")), str(send.get("content", "")))
            for call in item.get("tool_calls") or []
            for send in (as_dict(call).get("extra") or {}).get("send_message") or []]


def observation(item: dict) -> str:
    results = as_dict(item.get("observation") or {}).get("results") or []
    return "\n".join(observation_output(message_text(as_dict(r).get("content"))) for r in results)


def observation_output(content: str) -> str:
    """mini_swe_agent_v2's observation is JSON (``returncode``, ``output``); its output is what
    a person reads, and where a reply (``[Reply from X]: ...``) is written unescaped."""
    try:
        body = json.loads(content)
    except ValueError:
        return content
    if not isinstance(body, dict) or "output" not in body and "output_head" not in body:
        return content
    if "output" in body:
        text = str(body["output"])
    else:  # upstream's elided form of a long output
        text = f"{body['output_head']}\n[... {body.get('elided_chars', '?')} characters elided ...]\n" \
               f"{body.get('output_tail', '')}"
    return f"[exit {body['returncode']}]\n{text}" if body.get("returncode") not in (0, None) else text


def step_metrics(item: dict) -> tuple[float, int]:
    metrics = as_dict(item.get("metrics") or {})
    tokens = (metrics.get("prompt_tokens") or 0) + (metrics.get("completion_tokens") or 0)
    return float(metrics.get("cost_usd") or 0.0), int(tokens)


def epoch_seconds(timestamp) -> float | None:
    if timestamp is None:
        return None
    if isinstance(timestamp, int | float):
        return float(timestamp)
    try:
        return datetime.fromisoformat(str(timestamp).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None
