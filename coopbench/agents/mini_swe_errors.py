"""How an LLM provider's failure is classified, once.

- Transient (rate limit, 5xx, connection, timeout): retried with backoff inside the step;
  when the attempts run out, ``LLMProviderError`` (an InfraError: the job is retried later).
- The provider rejects the request itself (credentials, unknown model, bad request or
  parameters): ``LLMConfigError`` (a ConfigError: the job fails, the user must act).
- Context window exceeded, content policy: an agent outcome (status Error), not raised.

Either exception carries the agent's ``partial_result`` (patch, trajectory, counts so far)
once the agent has one, so that a failed job does not lose what the agent did.
"""

import litellm
import openai

from coopbench.errors import ConfigError, InfraError
from coopbench.secrets import redact

# A BadRequest subclass that is about this conversation, not about the configuration.
AGENT_OUTCOME_ERRORS = (litellm.exceptions.ContextWindowExceededError,
                        litellm.exceptions.ContentPolicyViolationError)
CONFIG_ERRORS = (openai.AuthenticationError, openai.PermissionDeniedError, openai.NotFoundError,
                 openai.BadRequestError, openai.UnprocessableEntityError)
TRANSIENT_ERRORS = (openai.RateLimitError, openai.APIConnectionError,  # incl. APITimeoutError
                    openai.InternalServerError)
TRANSIENT_STATUS = {408, 409, 429}  # and every 5xx

# What mini-swe-agent appends to an AuthenticationError; it names a CLI that we do not use.
_MINI_SWE_KEY_HINT = " You can permanently set your API key with `mini-extra config set KEY VALUE`."


class LLMConfigError(ConfigError):
    """The provider rejected the model, the credentials or the request: fix the run's setup."""

    partial_result = None  # AgentResult | None


class LLMProviderError(InfraError):
    """The provider kept failing (rate limits, outages) after every retry: try again later."""

    partial_result = None  # AgentResult | None


def is_transient(error: BaseException) -> bool:
    if isinstance(error, AGENT_OUTCOME_ERRORS + CONFIG_ERRORS):
        return False
    if isinstance(error, TRANSIENT_ERRORS):
        return True
    status = getattr(error, "status_code", None)
    return isinstance(status, int) and (status in TRANSIENT_STATUS or status >= 500)


def classify(error: Exception, model: str, attempts: int) -> Exception:
    """The exception to raise for ``error`` from a call to ``model``."""
    # A provider may echo the key it was given ("Incorrect API key provided: sk-...").
    message = redact(str(error).replace(_MINI_SWE_KEY_HINT, ""))
    if isinstance(error, AGENT_OUTCOME_ERRORS):
        return error
    if isinstance(error, openai.AuthenticationError | openai.PermissionDeniedError):
        return LLMConfigError(
            f"the provider rejected the credentials for model {model!r}: {message}. Set the "
            "provider's API key (e.g. OPENAI_API_KEY, ANTHROPIC_API_KEY) in the environment of "
            "every worker and of the enqueuing shell, and check that it may use this model")
    if isinstance(error, openai.NotFoundError) or (
            isinstance(error, openai.BadRequestError) and _says_model_not_found(message)):
        return LLMConfigError(
            f"the provider does not know model {model!r}: {message}. Check the model name "
            "(litellm's provider/model form, e.g. openai/gpt-4o-mini) and any api_base in "
            "the agent config's model_kwargs")
    if isinstance(error, CONFIG_ERRORS):
        return LLMConfigError(
            f"the provider rejected a request to model {model!r}: {message}. Check the agent "
            "config's model_kwargs and the model name")
    if is_transient(error):
        return LLMProviderError(
            f"model {model!r} kept failing after {attempts} attempts: {message}")
    return error


def _says_model_not_found(message: str) -> bool:
    lowered = message.lower()
    return "model" in lowered and ("not found" in lowered or "does not exist" in lowered)
