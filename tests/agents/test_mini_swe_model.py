"""The model wrapper on its own: token accounting and tool naming, against the fake server."""

from coopbench.agents.mini_swe_model import build_model
from coopbench.agents.mini_swe_settings import MiniSweSettings
from tests.agents.conftest import MODEL
from tests.support.fakellm import bash

CACHED_USAGE = {"prompt_tokens": 1000, "completion_tokens": 50, "total_tokens": 1050,
                "prompt_tokens_details": {"cached_tokens": 600},
                "cache_creation_input_tokens": 300}


def test_tokens_are_summed_over_calls_including_cache_reads_and_writes(fake_llm):
    fake_llm.add("*", bash("ls", usage=CACHED_USAGE), bash("ls"))
    model = build_model(MODEL, MiniSweSettings.parse({"model_kwargs": {"api_base": fake_llm.url}}))
    messages = [{"role": "user", "content": "hi"}]

    first = model.query(messages)
    model.query(messages)

    assert first["extra"]["actions"][0]["tool_name"] == "bash"
    usage = model.usage
    assert (usage.input_tokens, usage.output_tokens) == (1100, 70)
    assert (usage.cache_read_tokens, usage.cache_write_tokens) == (600, 300)
    assert model.unpriced_reason and "fake-model" in model.unpriced_reason
