"""Differential: the same scripted model driven by upstream's own runner
(``cooperbench.runner.solo.execute_solo`` / ``runner.coop.execute_coop``, in this process)
and by coopbench (``enqueue`` -> a real Celery worker -> the hosted adapter) sends the model
the same requests, message for message (so the same prompts and the same observations of
every command), and ends with the same patches, statuses and conversation.json.

The coop script is made deterministic by the server: each agent's request waits at fixed
points for the other agent's (``Sync``), so a message is always pushed between the same two
steps of its recipient, and neither agent exits before the other's last request.
"""

import json
import threading

import docker
import pytest
import yaml
from sqlalchemy import select

from coopbench.dataset.images.names import image_name
from coopbench.dataset.tasks import demo_dataset_path, load_tasks
from coopbench.export.run_export import export_run
from coopbench.ops.localcluster import LocalWorkers
from coopbench.store import Job, Store
from tests.support.fakellm import FakeLLM, bash, submit
from tests.support.runs import FAKE_MODEL, wait_until_finished

LEDGER = {t.repo: t for t in load_tasks(demo_dataset_path())}["ledger_task"]
ASK = "Which file are you editing?"
REPLY = "money.py only."
WAIT_S = 90


def apply_gold(fid: int) -> str:
    return f"git apply <<'GOLD'\n{LEDGER.gold_patch(fid)}GOLD"


def open_pr(title: str) -> str:
    return f"git add -A && git commit -qm '{title}' && git push -q && gh pr create --title '{title}' --body done"


class Sync:
    """Events and a barrier the scripted replies wait on (``then`` runs when released)."""

    def __init__(self):
        self.events = {name: threading.Event() for name in ("a", "b", "c")}
        self.last = threading.Barrier(2, timeout=WAIT_S)

    def reply(self, reply, set_: str | None = None, wait: str | None = None, barrier: bool = False):
        def entry(messages):
            if set_:
                self.events[set_].set()
            if wait:
                assert self.events[wait].wait(WAIT_S), f"sync point {wait} never came"
            if barrier:
                self.last.wait()
            return reply
        return entry


def scripts() -> dict[str, list]:
    sync = Sync()
    return {
        "*": [submit()],  # coopbench's model check at enqueue (not compared)
        "solo": [bash("ls"), bash(apply_gold(1)), bash(apply_gold(3)), bash(open_pr("both")),
                 bash("gh pr list && git status --short"), submit()],
        "agent1": [sync.reply(bash(f"send_message agent2 <<'MSG'\n{ASK}\nMSG"), wait="a"),
                   sync.reply(bash(apply_gold(1)), set_="b", wait="c"),
                   bash(open_pr("f1")),
                   sync.reply(submit(), barrier=True)],
        "agent2": [sync.reply(bash("ls"), set_="a", wait="b"),
                   bash(f"send_message agent1 <<'MSG'\n{REPLY}\nMSG"),
                   sync.reply(bash(apply_gold(3)), set_="c"),
                   bash(open_pr("f3")),
                   sync.reply(submit(), barrier=True)],
    }


def route(messages: list[dict]) -> str:
    head = " ".join(str(m.get("content") or "") for m in messages[:2])
    if "## Feature " in head:
        return "solo"
    for agent in ("agent1", "agent2"):
        if f"You are **{agent}**" in head:
            return agent
    return "*"


def conversation_of(server: FakeLLM, key: str) -> list[list[dict]]:
    """Each request the agent sent: its messages, without what is random per run (tool-call
    ids, which the server makes up)."""
    def clean(message: dict) -> dict:
        kept = {k: v for k, v in message.items() if k not in ("tool_call_id",)}
        if kept.get("tool_calls"):
            kept["tool_calls"] = [call["function"] for call in kept["tool_calls"]]
        return kept
    return [[clean(m) for m in r["body"]["messages"]] for r in server.requests_for(key)]


@pytest.fixture
def upstream_image(demo_images, docker_client):
    """The demo task image under the name upstream's runner asks for (``get_image_name``)."""
    from cooperbench.utils import get_image_name

    name = get_image_name(LEDGER.repo, LEDGER.task_id)
    docker_client.images.get(image_name(demo_images, LEDGER.repo, LEDGER.task_id)).tag(name)
    yield name
    try:
        docker_client.images.remove(name)
    except docker.errors.APIError:
        pass


def write_config(path, url: str) -> None:
    path.write_text(yaml.safe_dump({"config": {"model": {"model_kwargs": {"api_base": url}}}}))


def test_upstream_runner_and_coopbench_send_the_model_the_same_requests(
        cli, settings, demo_images, upstream_image, redis_client, tmp_path, monkeypatch):
    from cooperbench.runner.coop import execute_coop
    from cooperbench.runner.solo import execute_solo

    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    logs = tmp_path / "upstream-logs"
    with FakeLLM(scripts(), route=route) as upstream_llm:
        config = tmp_path / "upstream.yaml"
        write_config(config, upstream_llm.url)
        common = {"repo_name": LEDGER.repo, "task_id": LEDGER.task_id, "features": [1, 3],
                  "run_name": "diff", "model_name": FAKE_MODEL, "quiet": True,
                  "agent_config": str(config), "dataset_dir": demo_dataset_path(), "logs_dir": logs}
        execute_solo(**common)
        execute_coop(**common, redis_url="redis://127.0.0.1:6379/9", messaging_enabled=True)

    run = f"diff-{settings.queue[-8:]}"
    store = Store(settings.database_url)
    with FakeLLM(scripts(), route=route) as ours_llm, \
            LocalWorkers(settings, count=1, concurrency=2, log_dir=tmp_path / "logs",
                         extra_env={"OPENAI_API_KEY": "sk-test"}) as workers:
        config = tmp_path / "ours.yaml"
        write_config(config, ours_llm.url)
        enqueued = cli("enqueue", "--run", run, "--dataset", str(demo_dataset_path()),
                       "--repo", LEDGER.repo, "--features", "1,3", "--settings", "solo,coop",
                       "--model", FAKE_MODEL, "--agent-config", str(config),
                       "--image-template", demo_images, OPENAI_API_KEY="sk-test")
        assert enqueued.returncode == 0, enqueued.stderr
        wait_until_finished(store, run, workers, timeout_s=300)
        for key in ("solo", "agent1", "agent2"):
            theirs, ours = conversation_of(upstream_llm, key), conversation_of(ours_llm, key)
            assert len(ours) == len(theirs) > 2, key
            for step, (mine, upstream) in enumerate(zip(ours, theirs, strict=True)):
                assert mine == upstream, f"{key}, request {step + 1}"
    with store.session() as session:
        assert {j.setting for j in session.scalars(select(Job).where(Job.run_name == run))} == {"solo", "coop"}

    out = tmp_path / "export"
    manifest = export_run(store, run, out)
    entries = {e["setting"]: out / e["dir"] for e in manifest["jobs"]}
    upstream_dirs = {"solo": logs / "diff" / "solo" / LEDGER.repo / "0" / "f1_f3",
                     "coop": logs / "diff" / "coop" / LEDGER.repo / "0" / "f1_f3"}
    for setting, names in (("solo", ["solo.patch"]),
                           ("coop", ["agent1.patch", "agent3.patch", "conversation.json"])):
        for name in names:
            mine = (entries[setting] / name).read_text()
            theirs = (upstream_dirs[setting] / name).read_text()
            if name == "conversation.json":  # coopbench adds one key to each message
                mine = [{k: v for k, v in m.items() if k != "sent_at"} for m in json.loads(mine)]
                theirs = json.loads(theirs)
            assert mine == theirs, f"{setting}/{name}"
        mine = json.loads((entries[setting] / "result.json").read_text())
        theirs = json.loads((upstream_dirs[setting] / "result.json").read_text())
        agents = (lambda r: {a: (e["status"], e["steps"], e["patch_lines"]) for a, e in r["agents"].items()}
                  ) if setting == "coop" else (lambda r: (r["agent"]["status"], r["agent"]["steps"]))
        assert agents(mine) == agents(theirs)
    conversation = json.loads((upstream_dirs["coop"] / "conversation.json").read_text())
    assert [(m["from"], m["message"]) for m in conversation] == [("agent1", ASK), ("agent2", REPLY)]
