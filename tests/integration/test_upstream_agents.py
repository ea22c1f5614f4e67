"""Upstream's default adapter, ``mini_swe_agent_v2``, hosted by coopbench end to end:
``coopbench enqueue`` (its default agent) -> real Celery workers -> upstream's adapter
starting its own containers under coopbench's labels -> upstream's messaging on the run's
bus and upstream's git server per attempt -> evaluation -> export.

The scripted agents submit as upstream's prompts ask: commit, push, ``gh pr create`` (the
graded patch is the PR), then the sentinel. In coop they message both ways; in coop-git
agent2 waits until ``git fetch`` shows agent1's pushed commit; coop of three agents runs,
and a team of three (a lead and two members, with upstream's task list and scratchpad).
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
from coopbench.store import AgentRun, Attempt, Job, Store
from tests.support.containers import run_containers
from tests.support.fakellm import FakeLLM, bash, received_messages, submit, text
from tests.support.runs import FAKE_MODEL, wait_until_finished

LEDGER = {t.repo: t for t in load_tasks(demo_dataset_path())}["ledger_task"]
ASK = "I take account.py. Which file is yours?"
REPLY = "money.py only. No overlap."
WIP = "agent1 wip on account"
BIG_PROMPT = {"prompt_tokens": 30_000, "completion_tokens": 20, "total_tokens": 30_020}


def route(messages: list[dict]) -> str:
    """Script key: the agent id, and what its prompt offers (messaging, git, two colleagues)."""
    head = " ".join(str(m.get("content") or "") for m in messages[:2])
    if "## Feature " in head:
        return "solo"
    for agent in ("agent1", "agent2", "agent3"):
        if f"You are **{agent}**" in head:
            if "## You are the team-lead" in head or "## You are a team member" in head:
                return f"{agent}-team"
            if "agent3" in head:
                return f"{agent}-trio"
            if "## Shared Git Remote" in head:
                return f"{agent}-git"
            return agent + ("-msg" if "## Messaging" in head else "")
    return "*"


def apply_gold(fid: int) -> str:
    return f"git apply <<'GOLD'\n{LEDGER.gold_patch(fid)}GOLD"


def open_pr(title: str) -> str:
    return f"git add -A && git commit -qm '{title}' && git push -q && gh pr create --title '{title}' --body done"


def last_output(messages: list[dict]) -> str:
    tools = [m for m in messages if m.get("role") == "tool"]
    return str(tools[-1].get("content") or "") if tools else ""


class WaitThen:
    """Idle (``sleep``) until ``ready(messages)``, then play ``then`` in order."""

    def __init__(self, ready, then: list, idle: str = "sleep 0.3"):
        self.ready, self.then, self.idle, self.started = ready, list(then), idle, False

    def __call__(self, messages: list[dict]):
        if not self.started and not self.ready(messages):
            return bash(self.idle)
        self.started = True
        return self.then.pop(0)


def scripts() -> dict[str, list]:
    def heard(text):
        return lambda messages: any(text in m for m in received_messages(messages))

    agent1_msg = WaitThen(heard(REPLY), [bash(apply_gold(1)), bash(open_pr("f1")), submit()])
    agent2_msg = WaitThen(heard(ASK), [bash(f"send_message agent1 <<'MSG'\n{REPLY}\nMSG"),
                                       bash(apply_gold(3)), bash(open_pr("f3")), submit()])
    agent2_git = WaitThen(lambda messages: WIP in last_output(messages),
                          [bash(apply_gold(3)), bash(open_pr("f3")), submit()],
                          idle="git fetch -q origin; git log --oneline -1 origin/agent1")
    return {
        "*": [submit()],  # enqueue's model check
        # The third answer reports a prompt past upstream's compaction trigger (28,000 tokens):
        # the adapter asks for a summary next, and writes solo_full_traj.json to its log_dir.
        "solo": [bash("ls"), bash("git status --short"), bash("ls ledger", usage=BIG_PROMPT),
                 text("## FILE MAP\nledger/account.py, ledger/money.py"),
                 bash(apply_gold(1)), bash(apply_gold(3)), bash(open_pr("both")), submit()],
        "agent1-msg": [bash(f"send_message agent2 <<'MSG'\n{ASK}\nMSG")] + [agent1_msg] * 80,
        "agent2-msg": [agent2_msg] * 80,
        "agent1": [bash(apply_gold(1)), bash(open_pr("f1")), submit()],
        "agent2": [bash(apply_gold(3)), bash(open_pr("f3")), submit()],
        "agent1-git": [bash(apply_gold(1)), bash(f"git add -A && git commit -qm '{WIP}' && git push -q"),
                       bash("gh pr create --title f1 --body done"), submit()],
        "agent2-git": [agent2_git] * 80,
        **{f"agent{i}-{group}": [bash(apply_gold(fid)), bash(open_pr(f"f{fid}")), submit()]
           for i, fid in ((1, 1), (2, 3), (3, 4)) for group in ("trio", "team")},
    }


class DockerWatcher(threading.Thread):
    """Notes the run's containers (name -> labels) and networks while they exist."""

    def __init__(self, docker_client, run: str):
        super().__init__(daemon=True)
        self.docker, self.label = docker_client, f"coopbench.run={run}"
        self.containers: dict[str, dict] = {}
        self.networks: set[str] = set()
        self.volumes: set[str] = set()
        self.unlabelled: set[str] = set()
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            for c in self.docker.containers.list(all=True, sparse=True, filters={"label": self.label}):
                self.containers[c.attrs["Names"][0].lstrip("/")] = c.attrs.get("Labels") or {}
            for c in self.docker.containers.list(all=True, sparse=True,
                                                 filters={"name": "minisweagent-"}):
                self.unlabelled.add(c.attrs["Names"][0])
            self.networks.update(n.name for n in self.docker.networks.list(filters={"label": self.label}))
            self.volumes.update(v.name for v in self.docker.volumes.list(filters={"label": self.label}))
            time.sleep(0.1)


@pytest.fixture
def fake_llm():
    with FakeLLM(scripts(), route=route) as server:
        yield server


def test_mini_swe_agent_v2_in_every_setting_through_workers(
        cli, settings, demo_images, docker_client, redis_client, fake_llm, tmp_path):
    run = f"up-{settings.queue[-8:]}"
    config_file = tmp_path / "agent.yaml"  # upstream's own format: its config keys, nested
    config_file.write_text(yaml.safe_dump({"config": {"model": {"model_kwargs": {"api_base": fake_llm.url}}}}))
    store = Store(settings.database_url)
    watcher = DockerWatcher(docker_client, run)
    watcher.start()
    env = {"OPENAI_API_KEY": "sk-test"}
    common = ["--run", run, "--dataset", str(demo_dataset_path()), "--repo", "ledger_task",
              "--model", FAKE_MODEL, "--agent-config", str(config_file),
              "--image-template", demo_images, "--team-no-mcp"]  # a run option: every enqueue
    with LocalWorkers(settings, count=2, concurrency=2, log_dir=tmp_path / "logs",
                      extra_env=env) as workers:
        enqueued = cli("enqueue", *common, "--features", "1,3",
                       "--settings", "solo,coop,coop-nocomm,coop-git", **env)
        assert enqueued.returncode == 0, enqueued.stderr
        trio = cli("enqueue", *common, "--features", "1,3,4", "--settings", "coop",
                   "--no-check-model", **env)
        assert trio.returncode == 0, trio.stderr
        team = cli("enqueue", *common, "--features", "1,3,4", "--settings", "team",
                   "--no-check-model", **env)
        assert team.returncode == 0, team.stderr
        wait_until_finished(store, run, workers, timeout_s=300)
    watcher.stop.set()
    watcher.join()

    with store.session() as session:
        jobs = {(j.setting, len(j.features)): j
                for j in session.scalars(select(Job).where(Job.run_name == run))}
        runs = {(key, r.agent_id): r for key, j in jobs.items()
                for r in session.scalars(select(AgentRun).join(Attempt).where(Attempt.job_id == j.id))}
    outcome = {key: (j.state, j.both_passed, j.merge_status) for key, j in jobs.items()}
    assert outcome == {("solo", 2): ("done", True, None), ("coop", 2): ("done", True, "clean"),
                       ("coop-nocomm", 2): ("done", True, "clean"),
                       ("coop-git", 2): ("done", True, "clean"),
                       ("coop", 3): ("done", True, "clean"),
                       ("team", 3): ("done", True, "clean")}, {k: j.error for k, j in jobs.items()}
    assert {r.status for r in runs.values()} == {"Submitted"} and len(runs) == 13

    # Every container was upstream's adapter's, under coopbench's name and labels; the git
    # server and its network were per attempt; nothing is left, containers nor bus keys.
    assert not watcher.unlabelled
    git_job = jobs[("coop-git", 2)]
    expected = {f"coopbench-{git_job.id[:8]}-1-{role}" for role in ("agent1", "agent2", "git")}
    assert expected <= set(watcher.containers)
    labels = watcher.containers[f"coopbench-{git_job.id[:8]}-1-agent2"]
    assert (labels["coopbench.job"], labels["coopbench.attempt"], labels["coopbench.role"]) == (
        git_job.id, "1", "agent2")
    assert watcher.networks == {f"coopbench-{git_job.id[:8]}-1-git"}
    assert watcher.volumes == {f"cb-team-{jobs[('team', 3)].id}.1"}  # team's scratchpad
    assert run_containers(docker_client, run) == []
    assert docker_client.networks.list(filters={"label": f"coopbench.run={run}"}) == []
    assert docker_client.volumes.list(filters={"label": f"coopbench.run={run}"}) == []
    assert [k for j in jobs.values() for prefix in ("run", "cb")
            for k in redis_client.scan_iter(match=f"{prefix}:{j.id}.*")] == []

    out = tmp_path / "export"
    manifest = export_run(store, run, out)
    entries = {(e["setting"], len(e["features"])): out / e["dir"] for e in manifest["jobs"]}
    conversation = json.loads((entries[("coop", 2)] / "conversation.json").read_text())
    sent_at = [m.pop("sent_at") for m in conversation]  # coopbench's key
    assert conversation == [  # what upstream's runner writes: its sent_messages, no times
        {"from": "agent1", "to": "agent2", "message": ASK, "timestamp": None, "feature_id": 1},
        {"from": "agent2", "to": "agent1", "message": REPLY, "timestamp": None, "feature_id": 3}]
    assert sent_at == sorted(sent_at) and all(t.endswith("+00:00") for t in sent_at)  # UTC
    assert json.loads((entries[("coop-nocomm", 2)] / "conversation.json").read_text()) == []
    git_traj = json.loads((entries[("coop-git", 2)] / "agent3_traj.json").read_text())
    fetched = [m["content"] for m in git_traj["messages"] if m["role"] == "tool"]
    assert any(WIP in text for text in fetched), "agent2's fetch saw agent1's push"
    assert (entries[("coop", 3)] / "agent4.patch").read_text().strip()
    trio_eval = json.loads((entries[("coop", 3)] / "eval.json").read_text())
    assert (trio_eval["feature1"]["passed"], trio_eval["feature2"]["passed"]) == (True, True)
    assert "feature3" not in trio_eval and trio_eval["features_not_scored"] == [4]  # as upstream: two
    team_dir = entries[("team", 3)]
    assert team_dir.parts[-4] == "team"  # upstream's layout: <run>/team/<repo>/<task>/<group>
    team_result = json.loads((team_dir / "result.json").read_text())
    assert team_result["lead_agent"] == "agent1"
    assert {a: e["team_role"] for a, e in team_result["agents"].items()} == {
        "agent1": "lead", "agent2": "member", "agent3": "member"}
    assert team_result["team_features"] == {"task_list": True, "scratchpad": True, "mcp": False,
                                            "auto_refresh": True, "protocol": True}
    assert isinstance(team_result["metrics"], dict)
    tasks = json.loads((team_dir / "tasks.json").read_text())
    assert sorted(t["title"] for t in tasks) == [
        "Implement feature 3", "Implement feature 4", "Lead-only: integrate and submit feature 1"]
    assert json.loads((team_dir / "agent1_traj.json").read_text())["team_role"] == "lead"
    full = json.loads((entries[("solo", 2)] / "solo_full_traj.json").read_text())  # upstream's file
    assert "summarizer" in json.dumps(full)
    solo_patch = (entries[("solo", 2)] / "solo.patch").read_text()
    assert "account.py" in solo_patch or "money.py" in solo_patch
