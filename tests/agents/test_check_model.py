"""check_model: one tiny call through the agent's litellm path, before a run is enqueued."""

import pytest

from coopbench.agents.mini_swe import LLMConfigError, LLMProviderError, check_model
from coopbench.errors import ConfigError
from tests.agents.conftest import API_KEY, MODEL
from tests.support.fakellm import http_error, text


def _config(fake_llm, **extra) -> dict:
    return {"model_kwargs": {"api_base": fake_llm.url}, "retry_base_delay_s": 0.01, **extra}


def test_accepted(fake_llm):
    fake_llm.add("*", text("OK"))
    check_model(MODEL, _config(fake_llm))
    body = fake_llm.requests[0]["body"]
    assert body["max_tokens"] == 1 and body["model"] == "fake-model"


def test_rejected_credentials(fake_llm):
    fake_llm.add("*", http_error(401, "Incorrect API key provided: {api_key}"))
    with pytest.raises(LLMConfigError) as raised:
        check_model(MODEL, _config(fake_llm))
    message = str(raised.value)
    assert MODEL in message and "OPENAI_API_KEY" in message and API_KEY not in message
    assert len(fake_llm.requests) == 1


def test_unknown_model(fake_llm):
    fake_llm.add("*", http_error(404, "The model `nope` does not exist"))
    with pytest.raises(LLMConfigError, match="does not know model"):
        check_model(MODEL, _config(fake_llm))


def test_bad_request(fake_llm):
    fake_llm.add("*", http_error(400, "temperature must be at most 2"))
    with pytest.raises(LLMConfigError, match="temperature"):
        check_model(MODEL, _config(fake_llm))


def test_provider_down_is_not_a_config_error(fake_llm):
    fake_llm.add("*", *[http_error(503)] * 2)
    with pytest.raises(LLMProviderError, match="after 2 attempts"):
        check_model(MODEL, _config(fake_llm, retry_attempts=2))


def test_secret_in_the_config_is_refused_before_any_call(fake_llm):
    with pytest.raises(ConfigError, match="api_key"):
        check_model(MODEL, {"model_kwargs": {"api_base": fake_llm.url, "api_key": "sk-x"}})
    assert fake_llm.requests == []


def test_litellm_environment_variables_work(fake_llm, monkeypatch):
    """As on a worker: the provider's base URL and key from the environment, none in the config."""
    monkeypatch.setenv("OPENAI_API_BASE", fake_llm.url)
    fake_llm.add("*", text("OK"))
    check_model(MODEL, {})
    assert len(fake_llm.requests) == 1
