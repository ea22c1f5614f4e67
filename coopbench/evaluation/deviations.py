"""Where a run deliberately differs from upstream CooperBench, named in one place.

Every difference that can change a score is an option, off by default; when a run or an
evaluation uses one, it is listed (option, value, upstream's value, why) in the exported
``config.json`` and in every ``eval.json``. The README lists the same options.

Upstream's defaults are read from the installed ``cooperbench`` package's files (its
mini_swe_agent_v2 config), without importing it: importing it takes seconds.
"""

from functools import cache
from importlib.metadata import distribution

import yaml

from coopbench.evaluation.patches import TestFilter
from coopbench.sandbox.containers import Network

UPSTREAM_AGENT = "mini_swe_agent_v2"  # upstream's default agent adapter
UPSTREAM_EVAL_TIMEOUT_S = 600  # eval.sandbox.test_merged/test_solo's default ``timeout``
UPSTREAM_TEST_FILTER = TestFilter.upstream
UPSTREAM_NETWORK = Network.default

WHY = {
    "agent": "not upstream's agent: its prompts, loop and tools are not those of upstream's "
             "adapters, so its scores compare with coopbench runs of the same agent only",
    "step_limit": "a different LLM-call budget per agent than upstream's",
    "cost_limit_usd": "a different cost budget per agent than upstream's",
    "sandbox_network": "agent and evaluation containers had no network: task runners that "
                       "install packages at test time fail (every real Python task's does)",
    "test_filter": "more test files dropped from agents' patches than upstream's filter drops",
    "eval_timeout_s": "a different limit on one test run than upstream's",
}


@cache
def upstream_agent_limits() -> tuple[int, float]:
    """(step limit, cost limit in USD) per agent in upstream's default agent's config."""
    config = distribution("cooperbench").locate_file(
        "cooperbench/agents/mini_swe_agent_v2/config/coop.yaml")
    agent = yaml.safe_load(config.read_text())["agent"]
    return int(agent["step_limit"]), float(agent["cost_limit"])


def deviation(option: str, value: object, upstream: object) -> dict:
    return {"option": option, "value": value, "upstream": upstream, "why": WHY[option]}


def evaluation_deviations(test_filter: TestFilter, network: Network, timeout_s: float) -> list[dict]:
    """What differs from upstream in how one pair was scored (for its ``eval.json``)."""
    found = _scoring_deviations(test_filter, network)
    if timeout_s != UPSTREAM_EVAL_TIMEOUT_S:
        found.append(deviation("eval_timeout_s", timeout_s, UPSTREAM_EVAL_TIMEOUT_S))
    return found


def run_deviations(agent: str, step_limit: int, cost_limit_usd: float, config: dict) -> list[dict]:
    """What differs from upstream in a run's own options (for its ``config.json``): its agent,
    its limits, its test-file filter and network. (The limit on a test run is each worker's
    setting: every ``eval.json`` says which applied.)"""
    steps, cost = upstream_agent_limits()
    found = []
    if agent != UPSTREAM_AGENT:
        found.append(deviation("agent", agent, UPSTREAM_AGENT))
    if step_limit != steps:
        found.append(deviation("step_limit", step_limit, steps))
    if cost_limit_usd != cost:
        found.append(deviation("cost_limit_usd", cost_limit_usd, cost))
    return found + _scoring_deviations(TestFilter.of_run(config), Network.of_run(config))


def _scoring_deviations(test_filter: TestFilter, network: Network) -> list[dict]:
    found = []
    if test_filter != UPSTREAM_TEST_FILTER:
        found.append(deviation("test_filter", test_filter, UPSTREAM_TEST_FILTER))
    if network != UPSTREAM_NETWORK:
        found.append(deviation("sandbox_network", network, UPSTREAM_NETWORK))
    return found
