"""mini-swe-agent's LitellmModel with our retry policy, error classes and accounting.

The package's model already does the call (bash tool only), tool-call parsing (its
FormatError), message formatting and the observation template. We change:

- retries: its own loop (10 attempts, 4-60 s, set by environment variables) is switched
  off and ours runs inside ``_query``: configurable attempts and delay, jitter, and only
  for transient errors (see ``mini_swe_errors``);
- cost: a model litellm cannot price has an *unknown* cost, not 0 (``unpriced_reason``);
- tokens: summed from every response's usage, including calls whose reply was malformed;
- actions name their tool (``tool_name``), as in upstream's trajectories.
"""

import logging
from dataclasses import dataclass

import litellm
from minisweagent.models.litellm_model import LitellmModel
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential_jitter

from coopbench.agents.mini_swe_errors import classify, is_transient
from coopbench.agents.mini_swe_settings import MiniSweSettings
from coopbench.secrets import redact

log = logging.getLogger(__name__)

# drop_params: providers reject unknown parameters, litellm drops them instead (as upstream).
# max_retries=0: the OpenAI client would otherwise retry 429/5xx itself, under our retries.
DEFAULT_MODEL_KWARGS = {"drop_params": True, "max_retries": 0}
PING_MESSAGES = [{"role": "user", "content": "Reply with the single word OK."}]


@dataclass
class TokenUsage:
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0

    def add(self, usage: object) -> None:
        if usage is None:
            return
        self.input_tokens += _int(_get(usage, "prompt_tokens"))
        self.output_tokens += _int(_get(usage, "completion_tokens"))
        self.cache_read_tokens += _int(_get(_get(usage, "prompt_tokens_details"), "cached_tokens"))
        self.cache_write_tokens += _int(_get(usage, "cache_creation_input_tokens"))


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int
    base_delay_s: float
    max_delay_s: float

    def retrying(self) -> Retrying:
        return Retrying(
            reraise=True,
            stop=stop_after_attempt(self.attempts),
            # base * 2^n plus up to `base` of jitter, so that agents throttled together do not
            # come back together
            wait=wait_exponential_jitter(initial=self.base_delay_s, max=self.max_delay_s,
                                         jitter=self.base_delay_s),
            retry=retry_if_exception(is_transient),
            before_sleep=lambda state: log.warning(
                "LLM call failed (attempt %d of %d), retrying: %s", state.attempt_number,
                self.attempts, redact(str(state.outcome.exception() if state.outcome else "?"))),
        )


class CoopbenchLitellmModel(LitellmModel):
    # Every exception aborts the package's retry loop at once: retrying is done in _query.
    abort_exceptions = [Exception]

    def __init__(self, *, retry: RetryPolicy, **kwargs):
        super().__init__(cost_tracking="ignore_errors", **kwargs)
        self.retry = retry
        self.usage = TokenUsage()
        self.unpriced_reason: str | None = None  # set when a call could not be priced

    def _query(self, messages: list[dict], **kwargs):
        try:
            for attempt in self.retry.retrying():
                with attempt:
                    response = super()._query(messages, **kwargs)
        except Exception as error:
            raise classify(error, self.config.model_name, self.retry.attempts) from error
        self.usage.add(getattr(response, "usage", None))
        return response

    def _calculate_cost(self, response) -> dict[str, float]:
        try:
            cost = litellm.cost_calculator.completion_cost(response, model=self.config.model_name)
        except Exception as error:  # litellm raises for models missing from its price map
            if self.unpriced_reason is None:
                log.warning("cost of model %s is unknown (the cost limit cannot be enforced): %s",
                            self.config.model_name, error)
            self.unpriced_reason = f"litellm cannot price model {self.config.model_name!r}: {error}"
            cost = 0.0
        return {"cost": float(cost)}

    def _parse_actions(self, response) -> list[dict]:
        # Upstream's trajectories name the tool in each action (mini-swe-agent 2.1.0 did).
        return [{"tool_name": "bash", **action} for action in super()._parse_actions(response)]

    def ping(self) -> None:
        """One tiny completion, to learn whether the provider accepts model and credentials."""
        self._query(PING_MESSAGES, max_tokens=1)


def build_model(model_name: str, settings: MiniSweSettings) -> CoopbenchLitellmModel:
    # litellm prints a "Provider List" banner to stdout on every unpriced call; we log instead.
    litellm.suppress_debug_info = True
    if settings.model_prices:
        register_prices(model_name, settings.model_prices)
    templates = settings.templates()
    return CoopbenchLitellmModel(
        model_name=model_name,
        model_kwargs=DEFAULT_MODEL_KWARGS | settings.model_kwargs,
        observation_template=templates["observation_template"],
        format_error_template=templates["format_error_template"],
        retry=RetryPolicy(settings.retry_attempts, settings.retry_base_delay_s,
                          settings.retry_max_delay_s),
    )


def register_prices(model_name: str, prices: dict) -> None:
    """Teach litellm the price of a model (process-wide: litellm keeps one price map)."""
    provider = model_name.split("/", 1)[0] if "/" in model_name else "openai"
    litellm.register_model({model_name: {"litellm_provider": provider, "mode": "chat", **prices}})


def _get(value: object, name: str) -> object:
    if value is None:
        return None
    if isinstance(value, dict):
        return value.get(name)
    return getattr(value, name, None)


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0
