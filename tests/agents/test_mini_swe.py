"""The mini-swe-agent agent, solo, in real containers of the ledger demo task, with real
litellm calls to the scripted server (tests/support/fakellm.py)."""

import json
import time

import pytest

from coopbench.agents import AgentStatus, get_agent
from coopbench.agents.mini_swe import LLMConfigError, LLMProviderError, MiniSweAgent
from tests.agents.conftest import API_KEY, LEDGER
from tests.support.fakellm import apply_patch_command, bash, http_error, malformed, submit, text

pytestmark = pytest.mark.docker


def _roles(result) -> list[str]:
    return [m["role"] for m in result.trajectory]


def _tool_outputs(result) -> list[dict]:
    return [json.loads(m["content"]) for m in result.trajectory if m["role"] == "tool"]


def _assert_no_key(*values) -> None:
    for value in values:
        assert API_KEY not in json.dumps(value, default=str)


def test_solo_explores_edits_and_submits(fake_llm, make_task, open_box):
    gold = LEDGER.gold_patch(1)
    fake_llm.add("solo", bash("ls && git status --short"), bash(apply_patch_command(gold)),
                 bash("cat patch.txt"), submit())
    task = make_task(features=(1, 2))

    result = get_agent("mini-swe-agent").run(task, open_box())

    assert result.status is AgentStatus.submitted, result.error
    assert result.patch == gold.strip()
    assert result.steps == 4
    assert (result.input_tokens, result.output_tokens) == (400, 80)
    assert result.cost_usd is None  # litellm has no price for openai/fake-model
    assert "cannot price" in result.trajectory[-1]["extra"]["cost_unknown"]
    assert result.started_at <= result.ended_at
    assert _roles(result) == ["system", "user"] + ["assistant", "tool"] * 3 + ["assistant", "exit"]
    assert result.trajectory[-1]["extra"]["exit_status"] == "Submitted"
    first = result.trajectory[2]
    assert first["extra"]["actions"] == [{"tool_name": "bash", "command": "ls && git status --short",
                                          "tool_call_id": first["tool_calls"][0]["id"]}]
    assert first["extra"]["response"]["usage"]["prompt_tokens"] == 100
    assert {"cost", "timestamp"} <= set(first["extra"])
    tool = result.trajectory[3]
    assert set(tool["extra"]) >= {"raw_output", "returncode", "timestamp", "exception_info"}
    outputs = _tool_outputs(result)
    assert outputs[0]["returncode"] == 0 and "ledger" in outputs[0]["output"]
    assert outputs[2]["output"].startswith("diff --git a/ledger/account.py")

    # What the model was sent: both features as blocks, the container (not this host), one tool.
    request = fake_llm.requests_for("solo")[0]["body"]
    prompt = request["messages"][1]["content"]
    assert "## Feature 1" in prompt and "## Feature 2" in prompt and "\n---\n" in prompt
    assert "/workspace/repo" in prompt and "Linux container" in prompt
    assert "## Messaging" not in prompt and "COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT" in prompt
    assert [t["function"]["name"] for t in request["tools"]] == ["bash"]
    _assert_no_key(result, fake_llm.requests)


def test_step_limit_stops_before_the_next_call_and_keeps_the_patch(fake_llm, make_task, open_box):
    fake_llm.add("solo", bash("echo 'a partial diff' > patch.txt"), *[bash("echo again")] * 5)

    result = MiniSweAgent().run(make_task(step_limit=3), open_box())

    assert result.status is AgentStatus.limits_exceeded
    assert result.steps == 3 and len(fake_llm.requests) == 3
    assert result.patch == "a partial diff"
    last = result.trajectory[-1]
    assert (last["role"], last["content"], last["extra"]["exit_status"]) == (
        "exit", "LimitsExceeded", "LimitsExceeded")


def test_cost_limit_with_registered_prices(fake_llm, make_task, open_box):
    fake_llm.add("solo", *[bash("true")] * 5)
    prices = {"input_cost_per_token": 0.001, "output_cost_per_token": 0.002}  # $0.14 a call
    task = make_task(model="openai/fake-priced-model", cost_limit_usd=0.3, model_prices=prices)

    result = MiniSweAgent().run(task, open_box())

    assert result.status is AgentStatus.limits_exceeded
    assert result.steps == 3  # 0.28 < 0.3 after two calls, 0.42 after three
    assert result.cost_usd == pytest.approx(0.42)
    assert "cost_unknown" not in result.trajectory[-1]["extra"]


def test_rate_limit_is_retried(fake_llm, make_task, open_box):
    fake_llm.add("solo", http_error(429), http_error(503), submit())

    result = MiniSweAgent().run(make_task(), open_box())

    assert result.status is AgentStatus.submitted
    assert result.steps == 1
    assert [r["status"] for r in fake_llm.requests] == [429, 503, 200]


def test_provider_failing_after_retries_is_an_infra_error_with_the_partial_result(
        fake_llm, make_task, open_box):
    fake_llm.add("solo", bash("echo 'kept' > patch.txt"), *[http_error(500)] * 3)

    with pytest.raises(LLMProviderError) as raised:
        MiniSweAgent().run(make_task(retry_attempts=3), open_box())

    assert len(fake_llm.requests) == 4
    partial = raised.value.partial_result
    assert partial.status is AgentStatus.error and partial.patch == "kept" and partial.steps == 2
    assert partial.trajectory[-1]["extra"]["exit_status"] == "LLMProviderError"


def test_rejected_credentials_stop_at_once(fake_llm, make_task, open_box):
    fake_llm.add("solo", http_error(401, "Incorrect API key provided: {api_key}"))
    box = open_box()
    started = time.monotonic()

    with pytest.raises(LLMConfigError) as raised:
        MiniSweAgent().run(make_task(), box)

    assert time.monotonic() - started < 10
    assert len(fake_llm.requests) == 1  # no retry, neither ours nor the OpenAI client's
    assert "openai/fake-model" in str(raised.value) and "OPENAI_API_KEY" in str(raised.value)
    partial = raised.value.partial_result
    assert partial.status is AgentStatus.error and partial.steps == 1
    _assert_no_key(str(raised.value), partial)


def test_malformed_replies_get_the_format_error_message_and_the_loop_goes_on(
        fake_llm, make_task, open_box):
    fake_llm.add("solo", malformed('{"command": "ls'), text("Let me think first."),
                 malformed('{"cmd": "ls"}'), submit())

    result = MiniSweAgent().run(make_task(), open_box())

    assert result.status is AgentStatus.submitted
    assert result.steps == 4
    errors = [m for m in result.trajectory if m.get("extra", {}).get("interrupt_type") == "FormatError"]
    assert len(errors) == 3
    assert all(m["role"] == "user" and "Tool call error" in m["content"] for m in errors)
    assert "Error parsing tool call arguments" in errors[0]["content"]
    assert "No tool calls found" in errors[1]["content"]
    assert "Missing 'command'" in errors[2]["content"]
    assert result.output_tokens == 80  # malformed calls are counted too


def test_command_timeout_gives_returncode_minus_one_and_the_loop_goes_on(
        fake_llm, make_task, open_box):
    fake_llm.add("solo", bash("echo started && sleep 30"), bash("echo alive"), submit())
    started = time.monotonic()

    result = MiniSweAgent().run(make_task(command_timeout_s=2), open_box())

    assert time.monotonic() - started < 20
    assert result.status is AgentStatus.submitted
    timed_out, alive = _tool_outputs(result)
    assert timed_out["returncode"] == -1 and "started" in timed_out["output"]
    assert "timed out after 2 seconds" in timed_out["exception_info"]
    assert alive == {"returncode": 0, "output": "alive\n"}


def test_a_command_that_exits_124_itself_is_not_a_timeout(fake_llm, make_task, open_box):
    fake_llm.add("solo", bash("timeout 1 sleep 5"), submit())

    result = MiniSweAgent().run(make_task(command_timeout_s=10), open_box())

    assert _tool_outputs(result)[0] == {"returncode": 124, "output": ""}


def test_submission_sentinel_needs_returncode_zero(fake_llm, make_task, open_box):
    fake_llm.add("solo", bash("echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT; false"), submit())

    result = MiniSweAgent().run(make_task(), open_box())

    assert result.status is AgentStatus.submitted and result.steps == 2
    assert result.patch == ""  # submitted without patch.txt: no patch, as upstream


def test_context_window_exceeded_is_an_agent_error_not_a_job_failure(fake_llm, make_task, open_box):
    fake_llm.add("solo", bash("echo 'so far' > patch.txt"),
                 http_error(400, "This model's maximum context length is 8192 tokens"))

    result = MiniSweAgent().run(make_task(), open_box())

    assert result.status is AgentStatus.error and "ContextWindowExceeded" in result.error
    assert result.patch == "so far" and len(fake_llm.requests) == 2
