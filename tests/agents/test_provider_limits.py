"""Provider limits shared by every worker: litellm's real client against the scripted
server, the gate's state in the real Redis, calls from two worker-like processes at once."""

import json
import subprocess
import sys
import threading
import time
import uuid

import litellm
import pytest

from coopbench.agents import provider_limits
from coopbench.agents.provider_limits import ProviderGate, ProviderLimits
from tests.conftest import REDIS_URL
from tests.support.env import clean_env
from tests.support.fakellm import FakeLLM, Reply, http_error, text

CALLERS = 3  # threads in each of the two processes

# A worker process: its litellm routed through the gate, CALLERS threads calling at once;
# prints each call's time at the gate.
PROCESS = """
import json, sys, threading, litellm
from coopbench.agents import provider_limits
redis_url, api_base, model, limit, callers = sys.argv[1:6]
provider_limits.install(redis_url, provider_limits.ProviderLimits(max_concurrency=int(limit)))
waits = []
def call():
    with provider_limits.waiting() as waited:
        litellm.completion(model=model, api_base=api_base, api_key="sk-test",
                           messages=[{"role": "user", "content": "hi"}])
    waits.append(waited.seconds)
threads = [threading.Thread(target=call) for _ in range(int(callers))]
[t.start() for t in threads]
[t.join() for t in threads]
print(json.dumps(waits))
"""


def model_name() -> str:
    return f"openai/fake-{uuid.uuid4().hex[:8]}"  # a model of its own: no state shared


def test_two_processes_share_one_concurrency_limit():
    model = model_name()
    with FakeLLM({"*": [Reply(content="ok", delay_s=0.4)] * (2 * CALLERS)}) as llm:
        processes = [subprocess.Popen([sys.executable, "-c", PROCESS, REDIS_URL, llm.url, model, "2",
                                       str(CALLERS)],
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                      env=clean_env()) for _ in range(2)]
        outputs = [p.communicate(timeout=120) for p in processes]
    assert all(p.returncode == 0 for p in processes), [err[-2000:] for _, err in outputs]
    waits = [w for out, _ in outputs for w in json.loads(out)]
    assert len(llm.requests) == 2 * CALLERS
    assert llm.max_in_flight == 2  # six callers in two processes, never more than two at once
    assert sum(waits) > 0.4  # and the others' time at the gate is counted


def test_a_429_halves_the_calls_allowed_and_successes_win_them_back(redis_client):
    model = model_name()
    gate = ProviderGate(REDIS_URL, ProviderLimits(max_concurrency=4))
    with FakeLLM({"*": [http_error(429, "slow down"), http_error(429, "slow down"),
                        text("ok"), text("ok"), text("ok")]}) as llm:
        def call():
            return gate.call(model, litellm.completion, model=model, api_base=llm.url,
                             api_key="sk-test", messages=[{"role": "user", "content": "hi"}],
                             max_retries=0)  # the client's own retries would hide the 429s

        allowed = [gate.allowed(model)]
        for _ in range(2):
            with pytest.raises(litellm.exceptions.RateLimitError):
                call()
            allowed.append(gate.allowed(model))
        for _ in range(3):
            call()
            allowed.append(gate.allowed(model))
    assert allowed == pytest.approx([4, 2, 1, 2, 2.5, 2.9])  # AIMD: halve, then + 1 / allowed
    assert redis_client.zcard(f"coopbench-llm:{model}:holders") == 0  # every place given back


def test_requests_per_minute_hold_the_next_call():
    model = model_name()
    gate = ProviderGate(REDIS_URL, ProviderLimits(requests_per_minute=2))
    with FakeLLM({"*": [text("ok")] * 3}) as llm:
        def call():
            gate.call(model, litellm.completion, model=model, api_base=llm.url, api_key="sk-test",
                      messages=[{"role": "user", "content": "hi"}])

        call(), call()
        # The held call records itself instead of calling the server: it wakes a minute
        # later, after this test, and must not reach a server that is gone by then.
        held: list[str] = []
        third = threading.Thread(target=gate.call, args=(model, held.append, "third"), daemon=True)
        third.start()
        time.sleep(1.5)
        assert len(llm.requests) == 2 and not held and third.is_alive()  # the minute's two are spent


def test_no_limit_set_leaves_litellm_alone():
    before = litellm.completion
    provider_limits.install(REDIS_URL, ProviderLimits())
    assert litellm.completion is before
