"""A coop job with real-shaped trajectories, written into a store over the export tests'
synthetic run (``tests/export/synthetic_run.py``): two agents that message each other both
ways, one message never read (agent1 had exited), and the demo ledger's gold patches of
features 1 and 2, which change the same lines of ``ledger/account.py`` (a naive merge
conflicts).

The trajectories are mini-swe-agent v2 message lists as upstream's ``mini_swe_agent_v2``
stores them (JSON observations, ``[Message from X]`` user turns, ``extra.timestamp``,
``extra.cost`` and the response's usage), so the page reads them through
``coopbench.export.atif`` as it reads a real run's.
"""

import json
import uuid

from sqlalchemy import select

from coopbench.dataset.tasks import demo_dataset_path, load_tasks
from coopbench.job.setting import job_id
from coopbench.store import Artifact, Job
from tests.export.synthetic_run import REPO, RUN, SPECS, TASK, Spec, add_job, build

LEDGER = {t.repo: t for t in load_tasks(demo_dataset_path())}["ledger_task"]
FEATURES = (1, 2)
ASK = "I take the overdraft in account.py. Which lines are yours?"
REPLY = "The fee, in withdraw() of account.py too.\nWe will overlap."
LATE = "Too late, I am done: merge mine after yours."
T0 = 1_777_000_000.0  # the agents' clock (Unix seconds)
SPEC = Spec("coop", FEATURES, workers=("w9:1",), start=40, end=50, merge="conflicts",
            strategy="solo-agent1", passed=(True, False), costs=(0.03, 0.02),
            evaluated_at="2026-05-01T10:49:00")


def build_run(store, run: str = RUN) -> str:
    """The export tests' synthetic run with this coop job in place of its coop 1,2 (which has
    no trajectories); returns the job's id."""
    build(store, [s for s in SPECS if (s.setting, s.features) != ("coop", FEATURES)], name=run)
    return add_coop_job(store, run)


def coop_job_id(run: str = RUN) -> str:
    return job_id(run, REPO, TASK, FEATURES, "coop")


def add_coop_job(store, run: str = RUN) -> str:
    """The job, in a run that exists; returns its id."""
    with store.session() as session, session.begin():
        add_job(session, SPEC, name=run)
        session.flush()
        job = session.get(Job, coop_job_id(run))
        files = {"agent1_traj.json": json.dumps(agent1()), "agent2_traj.json": json.dumps(agent2()),
                 "agent1.patch": LEDGER.gold_patch(1), "agent2.patch": LEDGER.gold_patch(2),
                 "conversation.json": json.dumps(conversation())}
        stored = {a.name: a for a in session.scalars(select(Artifact).where(Artifact.job_id == job.id))}
        for name, text in files.items():
            data, size = Artifact.compress(text)
            row = stored.get(name) or Artifact(job_id=job.id, attempt_id=job.agents_attempt_id, name=name,
                                               created_at=job.finished_at)
            row.data_gz, row.size_bytes = data, size
            session.add(row)
        eval_row = stored["eval/1/eval.json"]
        body = json.loads(eval_row.text)
        body["merge"]["status"] = "conflicts"
        eval_row.data_gz, eval_row.size_bytes = Artifact.compress(json.dumps(body))
    return coop_job_id(run)


def conversation() -> list[dict]:
    """conversation.json as coopbench stores it: upstream's entries plus ``sent_at``."""
    def entry(sender, receiver, text, seconds, fid):
        return {"from": sender, "to": receiver, "message": text, "timestamp": None,
                "feature_id": fid, "sent_at": f"2026-05-01T10:4{seconds}:00+00:00"}
    return [entry("agent1", "agent2", ASK, 1, 1), entry("agent2", "agent1", REPLY, 2, 2),
            entry("agent2", "agent1", LATE, 5, 2)]


def agent1() -> list[dict]:
    return [*_start("agent1", 1),
            *_call(1, f"send_message agent2 <<'MSG'\n{ASK}\nMSG", "Message sent to agent2", thought="Ask first."),
            *_call(4, "sed -n 20,50p ledger/account.py", "class Account:\n    ..."),
            _user(f"[Message from agent2]: {REPLY}", 6),
            *_call(7, "git apply feature.patch && git diff --stat", " ledger/account.py | 9 +++++---"),
            *_call(8, "echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT", ""),
            {"role": "exit", "content": "", "extra": {"exit_status": "Submitted", "submission": ""}}]


def agent2() -> list[dict]:
    return [*_start("agent2", 2),
            *_call(2, "ls ledger", "__init__.py\naccount.py\nmoney.py\nreport.py"),
            _user(f"[Message from agent1]: {ASK}", 3),
            *_call(5, f"send_message agent1 <<'MSG'\n{REPLY}\nMSG", "Message sent to agent1",
                   thought="Answer agent1."),
            *_call(9, f'send_message agent1 "{LATE}"', "Message sent to agent1"),
            *_call(10, "echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT", ""),
            {"role": "exit", "content": "", "extra": {"exit_status": "Submitted", "submission": ""}}]


def _start(agent: str, feature: int) -> list[dict]:
    return [{"role": "system", "content": f"You are **{agent}**, a software engineer."},
            {"role": "user", "content": f"## Feature {feature}\nImplement feature {feature} of the ledger."}]


def _user(text: str, second: float) -> dict:
    return {"role": "user", "content": text, "extra": {"timestamp": T0 + second}}


def _call(second: float, command: str, output: str, thought: str = "") -> list[dict]:
    """One model call (an assistant turn with a bash call) and its observation."""
    call_id = f"call_{uuid.uuid4().hex[:8]}"
    usage = {"prompt_tokens": 1000, "completion_tokens": 50, "total_tokens": 1050}
    return [{"role": "assistant", "content": thought,
             "tool_calls": [{"id": call_id, "type": "function",
                             "function": {"name": "bash", "arguments": json.dumps({"command": command})}}],
             "extra": {"timestamp": T0 + second, "cost": 0.005, "response": {"usage": usage},
                       "actions": [{"command": command, "tool_call_id": call_id}]}},
            {"role": "tool", "tool_call_id": call_id,
             "content": json.dumps({"returncode": 0, "output": output}),
             "extra": {"timestamp": T0 + second + 0.5, "returncode": 0}}]
