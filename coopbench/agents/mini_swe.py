"""The ``mini-swe-agent`` agent: an LLM with one bash tool, on mini-swe-agent's loop.

The pieces, each a small extension of the installed ``minisweagent`` package:
``mini_swe_model`` (its LitellmModel: our retries, error classes, cost and token counts),
``mini_swe_env`` (its DockerEnvironment on the runner's Sandbox, plus send_message),
``mini_swe_loop`` (its DefaultAgent, plus incoming messages), ``mini_swe_settings`` (the
agent config keys and the prompts in ``prompts/``). This module runs them for one task and
turns the outcome into an ``AgentResult``.

Outcomes: Submitted, LimitsExceeded (steps, cost, or max_consecutive_format_errors) and
Error (anything else the loop's libraries raised, e.g. context window exceeded) are results.
Raised instead, with the result so far as ``error.partial_result``: ``LLMConfigError``
(credentials, unknown model, bad request; the job fails), ``LLMProviderError`` (still
failing after the retries; the job is retried), any other ``CoopbenchError`` (the container
failing, for instance), and an exception raised in coopbench's own code (a bug of ours, not
the model's outcome: ``coopbench.job.failures``).
"""

import logging

from coopbench.agents.base import PATCH_FILE, AgentResult, AgentStatus, AgentTask
from coopbench.agents.mini_swe_env import SandboxEnvironment
from coopbench.agents.mini_swe_errors import LLMConfigError, LLMProviderError
from coopbench.agents.mini_swe_loop import CoopbenchLoop
from coopbench.agents.mini_swe_messaging import Messenger
from coopbench.agents.mini_swe_model import CoopbenchLitellmModel, build_model
from coopbench.agents.mini_swe_settings import MiniSweSettings
from coopbench.errors import ConfigError, CoopbenchError, raised_in_coopbench
from coopbench.sandbox.containers import Sandbox
from coopbench.secrets import redact
from coopbench.store.engine import utcnow

log = logging.getLogger(__name__)

EXIT_STATUSES = {
    "Submitted": AgentStatus.submitted,
    "LimitsExceeded": AgentStatus.limits_exceeded,
    "TimeExceeded": AgentStatus.limits_exceeded,
    "RepeatedFormatError": AgentStatus.limits_exceeded,  # max_consecutive_format_errors
}


class MiniSweAgent:
    name = "mini-swe-agent"

    def prepare_run(self, model: str | None, agent_config: dict, call_model: bool = True) -> None:
        """Checks at enqueue, before anything is written: a model, a valid config whose
        limits are the run's own flags, and (unless told not to) the model answering."""
        if not model:
            raise ConfigError("--agent mini-swe-agent needs --model: a litellm model string, "
                              "e.g. openai/gpt-4o-mini")
        MiniSweSettings.parse(agent_config)
        overridden = sorted({"step_limit", "cost_limit_usd"} & set(agent_config))
        if overridden:  # the run records its limits; the config must not silently differ
            raise ConfigError(f"the agent config sets {', '.join(overridden)}; use enqueue's "
                              "--step-limit / --cost-limit instead, which the run records")
        if call_model:
            check_model(model, agent_config)

    def run(self, task: AgentTask, sandbox: Sandbox) -> AgentResult:
        started_at = utcnow()
        try:
            return self._run(task, sandbox, started_at)
        finally:
            if task.channel is not None:
                _finish(task.channel)

    def _run(self, task: AgentTask, sandbox: Sandbox, started_at) -> AgentResult:
        settings = MiniSweSettings.parse(task.agent_config)
        if not task.model:
            raise ConfigError("the mini-swe-agent agent needs a model: pass --model with a "
                              "litellm model name, e.g. openai/gpt-4o-mini")
        model = build_model(task.model, settings)
        messenger = Messenger(task.channel, settings.message_wait_s) if task.channel else None
        if task.messaging and messenger is None:
            log.warning("agent %s: messaging is on but there is no channel; the prompt will "
                        "not offer send_message", task.agent_id)
        env = SandboxEnvironment(sandbox, settings.command_timeout_for(task), messenger)
        templates = settings.templates()
        loop = CoopbenchLoop(
            model, env, messenger,
            system_template=templates["system_template"],
            instance_template=templates["instance_template"],
            step_limit=settings.step_limit_for(task),
            cost_limit=settings.cost_limit_for(task),
            max_consecutive_format_errors=settings.max_consecutive_format_errors,
        )
        raised: Exception | None = None
        error: str | None = None
        try:
            loop.run(task_text(task), agent_id=task.agent_id, partner_ids=list(task.partner_ids),
                     messaging=messenger is not None, message_wait_s=settings.message_wait_s)
        except Exception as exc:
            if isinstance(exc, CoopbenchError) or raised_in_coopbench(exc):
                raised = exc  # LLMConfigError, LLMProviderError, SandboxError, a bug of ours
            else:
                error = redact(f"{type(exc).__name__}: {exc}")
                log.warning("agent %s stopped by %s", task.agent_id, error)
        result = _result(task, loop, model, messenger, started_at,
                         patch=_read_patch(sandbox), error=error or (str(raised) if raised else None))
        log.info("agent %s: %s after %d steps, cost %s", task.agent_id, result.status,
                 result.steps, result.cost_usd)
        if raised is not None:
            raised.partial_result = result
            raise raised
        return result


def check_model(model: str, agent_config: dict | None = None) -> None:
    """Make one tiny completion through the agent's litellm path (before a run is enqueued).

    Raises LLMConfigError if the provider rejects model, credentials or settings,
    LLMProviderError if it keeps failing for other reasons, ConfigError if the agent config
    is invalid (unknown keys, secrets).
    """
    settings = MiniSweSettings.parse(agent_config)
    try:
        build_model(model, settings).ping()
    except CoopbenchError:
        raise
    except Exception as error:  # e.g. litellm cannot tell the provider from the name
        raise LLMConfigError(f"cannot call model {model!r}: {type(error).__name__}: "
                             f"{redact(str(error))}") from error


def task_text(task: AgentTask) -> str:
    """Solo: every feature as a ``## Feature N`` block, joined by ``---`` (upstream's order);
    coop: the agent's own feature spec, as is."""
    if task.partner_ids and len(task.feature_ids) == 1:
        return task.specs[task.feature_ids[0]]
    return "\n\n---\n\n".join(f"## Feature {fid}\n\n{task.specs[fid]}" for fid in task.feature_ids)


def _result(task: AgentTask, loop: CoopbenchLoop, model: CoopbenchLitellmModel,
            messenger: Messenger | None, started_at, patch: str, error: str | None) -> AgentResult:
    exit_extra = loop.messages[-1].setdefault("extra", {}) if loop.messages else {}
    status = EXIT_STATUSES.get(exit_extra.get("exit_status"), AgentStatus.error)
    if model.unpriced_reason:
        exit_extra["cost_unknown"] = model.unpriced_reason + "; the cost limit was not enforced"
    usage = model.usage
    return AgentResult(
        agent_id=task.agent_id,
        feature_ids=task.feature_ids,
        status=status,
        started_at=started_at,
        ended_at=utcnow(),
        steps=loop.n_calls,
        cost_usd=None if model.unpriced_reason else loop.cost,
        patch=patch,
        error=redact(error) if status is AgentStatus.error else None,
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        cache_read_tokens=usage.cache_read_tokens,
        cache_write_tokens=usage.cache_write_tokens,
        messages_sent=messenger.sent if messenger else 0,
        messages_received=messenger.received if messenger else 0,
        trajectory=redact([_with_text(m) for m in loop.messages]),
    )


def _with_text(message: dict) -> dict:
    """Upstream's trajectories have ``""`` where the API said ``content: null``."""
    return message if message.get("content") is not None else {**message, "content": ""}


def _read_patch(sandbox: Sandbox) -> str:
    """patch.txt, stripped as upstream does; "" if there is none or it cannot be read."""
    try:
        return (sandbox.read_file(PATCH_FILE) or "").strip()
    except CoopbenchError as error:
        log.warning("could not read %s: %s", PATCH_FILE, error)
        return ""


def _finish(channel) -> None:
    try:
        channel.finish()
    except Exception:
        log.exception("could not mark agent %s finished on the message bus", channel.agent_id)


__all__ = ["LLMConfigError", "LLMProviderError", "MiniSweAgent", "check_model", "task_text"]
