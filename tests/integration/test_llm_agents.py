"""The LLM agent end to end on real services: ``coopbench enqueue --agent mini-swe-agent``
-> real Celery workers -> agents in containers calling a scripted OpenAI-compatible server
through litellm -> the Redis message bus -> evaluation -> export.

One clean pair (ledger 1+3) in all three settings. The scripted agents explore, apply
their feature's gold patch with ``git apply``, write ``patch.txt`` and submit. In coop they
talk: agent1 asks with ``send_message --wait`` and gets agent2's reply, and writes again
after agent2 has finished (undelivered). coop-nocomm types ``send_message`` too: it is not
intercepted and no bus key is created for that job.
"""

import json
import threading
import time

import pytest
import yaml
from sqlalchemy import select

from coopbench.dataset.tasks import demo_dataset_path, load_tasks
from coopbench.export.run_export import export_run
from coopbench.ops.localcluster import LocalWorkers
from coopbench.store import AgentRun, Artifact, Attempt, Job, Store
from tests.support.broker import queue_length
from tests.support.containers import run_containers
from tests.support.fakellm import FakeLLM, apply_patch_command, bash, http_error, received_messages, submit
from tests.support.runs import FAKE_MODEL, wait_until_finished

LEDGER = {t.repo: t for t in load_tasks(demo_dataset_path())}["ledger_task"]
MODEL = FAKE_MODEL
SECRET = "sk-coopbench-e2e-" + "9d8c7b6a5f4e3d2c"
PRICES = {"input_cost_per_token": 1e-6, "output_cost_per_token": 2e-6}
CALL_COST = 100 * 1e-6 + 20 * 2e-6  # the fake server's default usage per call
ASK = "I will change parse_amount in money.py only. Which file is yours?"
REPLY = "OK: I only touch the ledger report. No overlap."
LATE = "Done on my side too."


def route(messages: list[dict]) -> str:
    """Script key: the agent id, plus '-msg' when its prompt offers send_message."""
    head = " ".join(str(m.get("content") or "") for m in messages[:2])
    for agent in ("solo", "agent1", "agent2"):
        if f"You are **{agent}**" in head:
            return agent if agent == "solo" or "send_message" not in head else f"{agent}-msg"
    return "*"


class Agent2Coop:
    """agent2 with messaging: waits (idling) until agent1's question arrives, answers,
    then does its work and submits."""

    def __init__(self):
        self.step = 0

    def __call__(self, messages: list[dict]):
        if self.step == 0:
            if not any(ASK in m for m in received_messages(messages)):
                return bash("sleep 0.3")
            self.step = 1
            return bash(f"send_message agent1 <<'MSG'\n{REPLY}\nMSG")
        self.step += 1
        if self.step == 2:
            return bash(apply_patch_command(LEDGER.gold_patch(3)))
        return submit()


def scripts() -> dict[str, list]:
    gold1, gold3 = LEDGER.gold_patch(1), LEDGER.gold_patch(3)
    agent2 = Agent2Coop()
    return {
        "*": [],  # enqueue's model check: filled per test
        "solo": [bash("ls && git status --short", content=f"Let me look around. {SECRET}"),
                 bash(apply_patch_command(gold1)), bash(apply_patch_command(gold3)),
                 bash("cat patch.txt"), submit()],
        "agent1-msg": [bash(f"send_message --wait agent2 <<'MSG'\n{ASK}\nMSG"),
                       bash(apply_patch_command(gold1)),
                       bash("sleep 4"),  # agent2 applies its patch and submits meanwhile
                       bash(f'send_message agent2 "{LATE}"'), submit()],
        "agent2-msg": [agent2] * 40,
        "agent1": [bash('send_message agent2 "hello?"'), bash(apply_patch_command(gold1)), submit()],
        "agent2": [bash(apply_patch_command(gold3)), submit()],
    }


class BusWatcher(threading.Thread):
    """Notes every bus key of the run while it exists (they are deleted after each job)."""

    def __init__(self, redis_client, run: str):
        super().__init__(daemon=True)
        self.redis, self.pattern = redis_client, f"coopbench:bus:{run}:*"
        self.seen: set[str] = set()
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            self.seen.update(k.decode() for k in self.redis.scan_iter(match=self.pattern, count=1000))
            time.sleep(0.02)


@pytest.fixture
def fake_llm():
    with FakeLLM(scripts(), route=route) as server:
        yield server


def enqueue_args(run: str, config_file) -> list[str]:
    return ["enqueue", "--run", run, "--dataset", str(demo_dataset_path()), "--repo", "ledger_task",
            "--features", "1,3", "--settings", "solo,coop,coop-nocomm", "--agent", "mini-swe-agent",
            "--model", MODEL, "--agent-config", str(config_file), "--step-limit", "20"]


def write_agent_config(path, fake_llm) -> None:
    path.write_text(yaml.safe_dump({
        "model_kwargs": {"api_base": fake_llm.url}, "model_prices": PRICES,
        "message_wait_s": 30, "retry_base_delay_s": 0.05, "retry_max_delay_s": 0.2,
    }))


# About the agents and their messages: one database (PostgreSQL, as many hosts use) is enough.
def test_llm_agents_solo_and_coop_with_messages_through_workers(
        cli, settings, demo_images, docker_client, redis_client, fake_llm, tmp_path):
    run = f"llm-{settings.queue[-8:]}"
    config_file = tmp_path / "agent.yaml"
    write_agent_config(config_file, fake_llm)
    fake_llm.add("*", submit())  # the one model check at enqueue
    store = Store(settings.database_url)
    watcher = BusWatcher(redis_client, run)
    watcher.start()
    env = {"OPENAI_API_KEY": SECRET}
    with LocalWorkers(settings, count=2, concurrency=2, log_dir=tmp_path / "logs",
                      extra_env=env) as workers:
        enqueued = cli(*enqueue_args(run, config_file), "--image-template", demo_images, **env)
        assert enqueued.returncode == 0, enqueued.stderr
        assert fake_llm.remaining("*") == 0, "the model was checked once at enqueue"
        wait_until_finished(store, run, workers)
    watcher.stop.set()
    watcher.join()

    with store.session() as session:
        jobs = {j.setting: j for j in session.scalars(select(Job).where(Job.run_name == run))}
        runs = {(j.setting, r.agent_id): r for j in jobs.values()
                for r in session.scalars(select(AgentRun).join(Attempt).where(Attempt.job_id == j.id))}
        stored = [a.text for a in session.scalars(select(Artifact).where(
            Artifact.job_id.in_([j.id for j in jobs.values()])))]
    assert {s: (j.state, j.both_passed, j.merge_status) for s, j in jobs.items()} == {
        "solo": ("done", True, None), "coop": ("done", True, "clean"),
        "coop-nocomm": ("done", True, "clean")}, {s: j.error for s, j in jobs.items()}
    assert {key: r.status for key, r in runs.items()} == dict.fromkeys(runs, "Submitted")
    assert len(runs) == 5

    # Accounting: every call priced from the registered prices; tokens from each response.
    solo = runs[("solo", "solo")]
    assert solo.steps == 5 and solo.input_tokens == 500 and solo.output_tokens == 100
    assert solo.cost_usd == pytest.approx(5 * CALL_COST)
    agent1, agent2 = runs[("coop", "agent1")], runs[("coop", "agent2")]
    assert (agent1.messages_sent, agent1.messages_received) == (2, 1)
    assert (agent2.messages_sent, agent2.messages_received) == (1, 1)
    assert jobs["coop"].cost_usd == pytest.approx((agent1.steps + agent2.steps) * CALL_COST)

    # The bus: keys existed for the coop job only, and none is left.
    bus_jobs = {key.split(":")[3] for key in watcher.seen}
    assert bus_jobs == {jobs["coop"].id}
    assert list(redis_client.scan_iter(match=f"coopbench:bus:{run}:*")) == []
    assert run_containers(docker_client, run) == []

    out = tmp_path / "export"
    manifest = export_run(store, run, out)
    entries = {e["setting"]: out / e["dir"] for e in manifest["jobs"]}
    conversation = json.loads((entries["coop"] / "conversation.json").read_text())
    assert [(m["from"], m["to"], m["message"].strip(), m["delivered"]) for m in conversation] == [
        ("agent1", "agent2", ASK, True), ("agent2", "agent1", REPLY, True),
        ("agent1", "agent2", LATE, False)]
    assert [m["feature_id"] for m in conversation] == [1, 3, 1]
    times = [m["timestamp"] for m in conversation]
    assert times == sorted(times) and all(times)
    result = json.loads((entries["coop"] / "result.json").read_text())
    assert result["messages_sent"] == 3
    assert result["agents"]["agent1"]["input_tokens"] == agent1.input_tokens > 0
    assert json.loads((entries["coop-nocomm"] / "conversation.json").read_text()) == []

    trajectory = json.loads((entries["coop"] / "agent1_traj.json").read_text())
    observations = [m["content"] for m in trajectory["messages"] if m["role"] == "tool"]
    assert f"[Message from agent2]: {REPLY}" in observations[0]  # --wait got the reply
    assert "not delivered" in observations[3] and "already finished" in observations[3]
    nocomm = json.loads((entries["coop-nocomm"] / "agent1_traj.json").read_text())
    first = next(m for m in nocomm["messages"] if m["role"] == "tool")
    assert "command not found" in first["content"]  # not intercepted without messaging
    solo_patch = (entries["solo"] / "solo.patch").read_text()
    assert "money.py" in solo_patch

    # The key reached the provider (the server saw it) and nothing a job stored or exported.
    exported = "".join(p.read_text() for p in out.rglob("*") if p.is_file())
    assert SECRET not in exported and all(SECRET not in text for text in stored)
    assert "[redacted]" in exported or "<redacted>" in exported


def test_a_rejected_key_stops_the_run_at_enqueue(cli, settings, fake_llm, tmp_path, database_url,
                                                  redis_client, queue):
    config_file = tmp_path / "agent.yaml"
    write_agent_config(config_file, fake_llm)
    fake_llm.add("*", http_error(401, "Incorrect API key provided: {api_key}"))
    result = cli(*enqueue_args("llm-401", config_file), OPENAI_API_KEY=SECRET)
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and MODEL in lines[0]
    assert SECRET not in result.stderr
    assert queue_length(redis_client, queue) == 0
    store = Store(database_url)
    store.upgrade()
    with store.session() as session:
        assert session.scalars(select(Job)).all() == []
