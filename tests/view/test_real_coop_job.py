"""``coopbench view`` on a real coop job, looked at in headless chromium.

Upstream's ``mini_swe_agent_v2`` runs the demo ledger's features 1 and 2 (their gold
patches change the same lines of ``ledger/account.py``) through a real worker, in real
containers, with the scripted model of ``tests/support/fakellm.py``: agent1 asks, agent2
answers, and agent2 sends a last message while agent1 is in its final model call, so that
agent1 exits without ever reading it. The model server notes at which of each agent's model
calls (steps) it first saw a message: that is where the page must draw the line to.

Screenshots: ``<tmp_path>/screenshots/real-job.png`` (the served job page) and
``real-run.png`` (the written run page).
"""

import re
import socket
import subprocess
import threading
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from coopbench.dataset.tasks import demo_dataset_path
from coopbench.ops.localcluster import LocalWorkers
from coopbench.store import Evaluation, Job, Store
from tests.conftest import COOPBENCH
from tests.support.env import settings_env
from tests.support.fakellm import FakeLLM, bash, received_messages, submit
from tests.support.polling import wait_until
from tests.support.runs import FAKE_MODEL, wait_until_finished
from tests.view.browser import check_job_dom, dump_dom, elements, screenshot
from tests.view.synthetic_job import LEDGER

ASK = "I take the overdraft in Account.__init__ and withdraw. Which lines are yours?"
REPLY = "The withdrawal fee, in the same two places. We will overlap there."
LATE = "Last word: I have opened my PR."
WAIT_S = 120  # longest a scripted turn waits for the other agent


class Script:
    """One agent's model: each turn waits (the agent idles with ``sleep``) until it is ready,
    then answers; the step (1-based model call) each turn was given at is noted."""

    def __init__(self, turns: list[tuple]):
        self.turns = list(turns)  # (name, ready(messages) or None, answer() -> Reply)
        self.calls = 0
        self.steps: dict[str, int] = {}

    def __call__(self, messages: list[dict]):
        self.calls += 1
        name, ready, answer = self.turns[0]
        if ready is not None and not ready(messages):
            return bash("sleep 0.3")
        self.turns.pop(0)
        self.steps[name] = self.calls
        return answer()


def heard(text: str):
    return lambda messages: any(text in m for m in received_messages(messages))


def send(to: str, text: str):
    return lambda: bash(f"send_message {to} <<'MSG'\n{text}\nMSG")


def apply_and_open_pr(fid: int):
    patch = LEDGER.gold_patch(fid)
    return lambda: bash(f"git apply <<'GOLD'\n{patch}GOLD\ngit add -A && git commit -qm f{fid} && git push -q "
                        f"&& gh pr create --title f{fid} --body done")


def after(event: threading.Event, answer, then: threading.Event | None = None):
    """``answer`` once ``event`` is set (setting ``then`` first)."""
    def turn():
        if then is not None:
            then.set()
        assert event.wait(WAIT_S), "the other agent never got there"
        return answer()
    return turn


def scripts() -> tuple[Script, Script]:
    agent1_final_call = threading.Event()  # agent1 is in its last model call
    late_sent = threading.Event()  # agent2's send of LATE returned
    agent1 = Script([("ask", None, send("agent2", ASK)),
                     ("apply", heard(REPLY), apply_and_open_pr(1)),
                     # agent1 read its inbox before this call: LATE, sent meanwhile, stays there
                     ("submit", None, after(late_sent, submit, then=agent1_final_call))])
    agent2 = Script([("reply", heard(ASK), send("agent1", REPLY)),
                     ("apply", None, apply_and_open_pr(2)),
                     ("late", None, after(agent1_final_call, send("agent1", LATE))),
                     ("submit", None, lambda: (late_sent.set(), submit())[1])])
    return agent1, agent2


@pytest.fixture
def scripted():
    agent1, agent2 = scripts()
    with FakeLLM({"*": [submit()], "agent1": [agent1] * 90, "agent2": [agent2] * 90}) as server:
        yield server, agent1, agent2


def test_a_real_coop_jobs_page_in_the_browser(cli, settings, demo_images, scripted, tmp_path):
    server, agent1, agent2 = scripted
    run = f"view-{settings.queue[-8:]}"
    config_file = tmp_path / "agent.yaml"
    config_file.write_text(yaml.safe_dump({"config": {"model": {"model_kwargs": {"api_base": server.url}}}}))
    env = {"OPENAI_API_KEY": "sk-test"}
    store = Store(settings.database_url)
    with LocalWorkers(settings, count=1, concurrency=1, log_dir=tmp_path / "logs", extra_env=env) as workers:
        enqueued = cli("enqueue", "--run", run, "--dataset", str(demo_dataset_path()), "--repo", "ledger_task",
                       "--features", "1,2", "--settings", "coop", "--model", FAKE_MODEL,
                       "--agent-config", str(config_file), "--image-template", demo_images, **env)
        assert enqueued.returncode == 0, enqueued.stderr
        wait_until_finished(store, run, workers, timeout_s=300)
    with store.session() as session:
        job = session.scalars(select(Job).where(Job.run_name == run)).one()
        evaluation = session.get(Evaluation, job.evaluation_id)
        assert (job.state, job.merge_status) == ("done", "conflicts"), job.error
        passed = {str(k): v for k, v in evaluation.feature_results.items()}
        job_id = job.id

    written = cli("view", "--run", run, "--out", str(tmp_path / "view"))
    assert written.returncode == 0, written.stderr
    with served(settings, run, tmp_path) as base:
        url = f"{base}/jobs/{job_id}.html"
        dom = dump_dom(url, tmp_path / "profile")
        screenshot(url, tmp_path / "screenshots" / "real-job.png", tmp_path / "profile")

    # The lines go to the model calls that first showed each message; LATE never reached one.
    check_job_dom(dom, ["agent1", "agent2"],
                  [(1, "agent1", agent1.steps["ask"], "agent2", agent2.steps["reply"]),
                   (2, "agent2", agent2.steps["reply"], "agent1", agent1.steps["apply"])], [3])
    # Cost and tokens as they accumulate: every scripted answer reports 120 tokens.
    for agent, script in (("agent1", agent1), ("agent2", agent2)):
        last = re.search(rf'id="step-{agent}-{script.calls}".*?class="acc"[^>]*>([^<]*)<', dom, re.DOTALL)
        assert last and f"{120 * script.calls} tok" in last[1], agent
    sent = {m["data-msg"]: m for m in elements(dom, "tr", "msg")}
    assert sent["3"]["data-from-step"] == str(agent2.steps["late"]) and sent["3"]["data-delivered"] == "no"
    # The merge and each feature's tests as the store has them; the conflicting hunks marked.
    assert 'id="merge"' in dom and "naive merge</b> conflicted" in dom
    assert {f["data-feature"]: f["data-passed"] == "yes" for f in elements(dom, "tr") if "data-feature" in f} \
        == passed
    conflicts = elements(dom, "div", "conflict")
    assert {c["data-conflicts-with"] for c in conflicts} == {"agent1", "agent2"}

    index = (tmp_path / "view" / "index.html").as_uri()
    run_dom = dump_dom(index + "?setting=coop&outcome=" + ("passed" if job.both_passed else "failed"),
                       tmp_path / "profile")
    shown = [r for r in elements(run_dom, "tr") if "data-job" in r and "hidden" not in r]
    assert [r["data-job"] for r in shown] == [job_id] and f'href="jobs/{job_id}.html"' in run_dom
    screenshot(index, tmp_path / "screenshots" / "real-run.png", tmp_path / "profile", (1400, 700))


@contextmanager
def served(settings, run: str, cwd: Path):
    """``coopbench view --run NAME --port N`` in a process of its own, for the block; yields
    its address."""
    with socket.socket() as probe:  # a free port, given back for the command to take
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen([COOPBENCH, "view", "--run", run, "--port", str(port)], env=settings_env(settings),
                               cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: _answers(base) or process.poll() is not None, "the view server", 60)
        assert process.poll() is None, process.communicate()
        yield base
    finally:
        process.terminate()
        process.communicate(timeout=30)


def _answers(base: str) -> bool:
    try:
        urllib.request.urlopen(base + "/", timeout=5).read()
        return True
    except OSError:
        return False
