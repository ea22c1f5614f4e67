"""Fixtures for agent tests: the scripted LLM server, task containers, tasks."""

import contextlib
import uuid

import pytest

from coopbench.agents.base import AgentTask
from coopbench.dataset.images import image_name
from coopbench.dataset.tasks import demo_dataset_path, load_tasks
from coopbench.sandbox.containers import open_sandbox
from tests.support.fakellm import FakeLLM

LEDGER = {t.repo: t for t in load_tasks(demo_dataset_path())}["ledger_task"]
MODEL = "openai/fake-model"  # litellm has no price for it
# A distinctive key: no test output may contain it.
API_KEY = "sk-coopbench-test-" + "4c2f9e1d7b3a5f60"


@pytest.fixture(autouse=True)
def provider_key(monkeypatch):
    """litellm's openai/ provider reads the key from the environment, as on a worker."""
    monkeypatch.setenv("OPENAI_API_KEY", API_KEY)
    return API_KEY


@pytest.fixture
def fake_llm():
    with FakeLLM() as server:
        yield server


@pytest.fixture
def make_task(fake_llm):
    def make(agent_id="solo", features=(1,), partner_ids=(), channel=None, model=MODEL,
             step_limit=20, cost_limit_usd=0.0, **agent_config) -> AgentTask:
        config = {"model_kwargs": {"api_base": fake_llm.url}, "retry_base_delay_s": 0.01,
                  "retry_max_delay_s": 0.05, **agent_config}
        return AgentTask(
            agent_id=agent_id, feature_ids=tuple(features),
            specs={f: LEDGER.spec(f) for f in features}, gold_patches={},
            partner_ids=tuple(partner_ids), messaging=channel is not None, model=model,
            step_limit=step_limit, cost_limit_usd=cost_limit_usd, command_timeout_s=60,
            agent_config=config, channel=channel,
        )

    return make


@pytest.fixture
def open_box(docker_client, demo_images):
    """Open ledger task containers; all are removed at the end of the test."""
    run = f"test-agents-{uuid.uuid4().hex[:10]}"
    image = image_name(demo_images, LEDGER.repo, LEDGER.task_id)
    with contextlib.ExitStack() as stack:
        def open_one(role="solo"):
            return stack.enter_context(open_sandbox(
                docker_client, image, f"coopbench-{run}-{role}",
                {"run": run, "job": run, "role": role}))

        yield open_one
