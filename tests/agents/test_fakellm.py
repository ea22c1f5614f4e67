"""The scripted LLM server itself: routing, concurrency, errors."""

import json
import threading
import urllib.error
import urllib.request

from tests.support.fakellm import FakeLLM, bash, default_route, http_error, text


def _post(url: str, messages: list[dict]) -> tuple[int, dict]:
    request = urllib.request.Request(
        url + "/chat/completions", data=json.dumps({"model": "m", "messages": messages}).encode(),
        headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def _as(agent: str) -> list[dict]:
    return [{"role": "system", "content": "sys"},
            {"role": "user", "content": f"## Your Situation\n\nYou are **{agent}**. ..."}]


def test_default_route():
    assert default_route(_as("agent2")) == "agent2"
    assert default_route(_as("solo")) == "solo"
    assert default_route([{"role": "user", "content": "ping"}]) == "*"


def test_scripts_per_agent_in_order_and_exhaustion_is_loud():
    with FakeLLM({"agent1": [bash("ls", "pwd")], "agent2": [text("hi"), http_error(429)]}) as fake:
        status, one = _post(fake.url, _as("agent1"))
        calls = one["choices"][0]["message"]["tool_calls"]
        assert status == 200 and [json.loads(c["function"]["arguments"]) for c in calls] == [
            {"command": "ls"}, {"command": "pwd"}]
        assert one["usage"]["prompt_tokens"] == 100
        assert _post(fake.url, _as("agent2"))[1]["choices"][0]["message"]["content"] == "hi"
        assert _post(fake.url, _as("agent2"))[0] == 429
        status, body = _post(fake.url, _as("agent1"))
        assert status == 400 and "exhausted" in body["error"]["message"]
        assert [r["route"] for r in fake.requests] == ["agent1", "agent2", "agent2", "agent1"]


def test_custom_route_keys_several_jobs_and_callables_see_the_messages():
    def route(messages):  # one test, two jobs: key on the agent and the task text
        return f"{default_route(messages)}:{'ledger' if 'ledger' in messages[1]['content'] else 'x'}"

    seen = []
    scripts = {"agent1:ledger": [lambda m: seen.append(m) or text("from callable")]}
    with FakeLLM(scripts, route=route) as fake:
        messages = _as("agent1")
        messages[1]["content"] += " ledger"
        assert _post(fake.url, messages)[1]["choices"][0]["message"]["content"] == "from callable"
        assert seen == [messages]


def test_concurrent_agents():
    scripts = {f"agent{i}": [text(str(n)) for n in range(20)] for i in (1, 2)}
    with FakeLLM(scripts) as fake:
        got = {1: [], 2: []}

        def agent(i):
            for _ in range(20):
                got[i].append(_post(fake.url, _as(f"agent{i}"))[1]["choices"][0]["message"]["content"])

        threads = [threading.Thread(target=agent, args=(i,)) for i in (1, 2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert got == {1: [str(n) for n in range(20)], 2: [str(n) for n in range(20)]}
