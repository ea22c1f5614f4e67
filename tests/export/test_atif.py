"""Agents' trajectories in ATIF (``coopbench.export.atif``): the steps, the links between the
agents of one job, the export writing them, and harbor's own validator accepting every file.

The validator is harbor's (``harbor.utils.trajectory_validator``, schema ATIF-v1.8), run in a
throwaway venv made here: harbor 0.26.0 without its dependencies (about 245 packages, for
its agents and sandboxes) plus pydantic, all that its trajectory models and validator
import. uv installs that in a few seconds.
"""

import gzip
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from coopbench.export.atif import JOB_FILE, SCHEMA_VERSION, AtifJob, atif_trajectory, job_atif
from coopbench.export.job_files import atif_files
from coopbench.export.run_export import export_run
from coopbench.job.setting import job_id
from coopbench.store import AgentRun, Artifact, Job, Run
from tests.export.synthetic_run import REPO, RUN, TASK, build

HARBOR = "harbor==0.26.0"
PYDANTIC = "pydantic>=2.14"  # harbor 0.26.0's own floor
T = 1_777_629_600.0  # 2026-05-01T10:00:00Z, in Unix seconds as mini-swe-agent stores them
VALIDATE = """
import json, sys
from harbor.utils.trajectory_validator import TrajectoryValidator
report = {}
for path in sys.argv[1:]:
    validator = TrajectoryValidator()
    report[path] = [] if validator.validate(path) else validator.get_errors()
print(json.dumps(report))
"""


def uv() -> list[str]:
    """uv from PATH, else from the base interpreter (as scripts/setup.sh finds it)."""
    return [found] if (found := shutil.which("uv")) else [sys._base_executable, "-m", "uv"]


@pytest.fixture(scope="session")
def harbor_validate(tmp_path_factory):
    """``validate(paths) -> {path: errors}`` by harbor's validator, in its own venv."""
    venv = tmp_path_factory.mktemp("harbor") / "venv"
    python = venv / "bin" / "python"
    for command in ([*uv(), "venv", "-q", "--python", sys._base_executable, str(venv)],
                    [*uv(), "pip", "install", "-q", "--python", str(python), "--no-deps", HARBOR],
                    [*uv(), "pip", "install", "-q", "--python", str(python), PYDANTIC]):
        done = subprocess.run(command, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, f"{command}: {done.stderr}"

    def validate(paths: list[Path]) -> dict[str, list[str]]:
        done = subprocess.run([str(python), "-c", VALIDATE, *map(str, paths)],
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)
    return validate


def assert_valid(validate, paths: list[Path]) -> None:
    assert paths
    failures = {p: e for p, e in validate(paths).items() if e}
    assert not failures, json.dumps(failures, indent=2)


# --- messages as mini-swe-agent v2 stores them (LitellmModel.query, the observation
# template, the exit message), at times T + t seconds -----------------------------------

def system(text="You are a helpful assistant."):
    return {"role": "system", "content": text}


def user(text):
    return {"role": "user", "content": text}


def assistant(thought, *commands, t, cost=0.002, prompt=1000, completion=50, cached=0):
    calls = [{"id": f"call_{int(t)}_{i}", "type": "function",
              "function": {"name": "bash", "arguments": json.dumps({"command": c})}}
             for i, c in enumerate(commands)]
    usage = {"prompt_tokens": prompt, "completion_tokens": completion,
             "total_tokens": prompt + completion,
             "prompt_tokens_details": {"cached_tokens": cached}}
    return {"role": "assistant", "content": thought, "tool_calls": calls, "extra": {
        "actions": [{"command": c, "tool_call_id": call["id"]} for c, call in zip(commands, calls)],
        "response": {"id": "r", "model": "gpt-x", "usage": usage}, "cost": cost,
        "timestamp": T + t}}


def tool(call, output, t, returncode=0):
    return {"role": "tool", "tool_call_id": call["tool_call_id"],
            "content": f"<returncode>{returncode}</returncode>\n<output>\n{output}</output>",
            "extra": {"raw_output": output, "returncode": returncode, "timestamp": T + t,
                      "exception_info": ""}}


def turn(thought, command, output, t, **usage):
    """One model call with one command, and its observation."""
    reply = assistant(thought, command, t=t, **usage)
    return [reply, tool(reply["extra"]["actions"][0], output, t + 1)]


def exit_message(status="Submitted"):
    return {"role": "exit", "content": "", "extra": {"exit_status": status, "submission": ""}}


def send(to, text):
    return f"send_message {to} <<'MSG'\n{text}\nMSG"


def agent_job(agent_ids, setting="coop", facts=None) -> AtifJob:
    return AtifJob(job_id="job-1", agent_name="mini_swe_agent_v2", agent_version="0.0.29",
                   coopbench_version="0.1.0", model="openai/gpt-x",
                   agent_files={a: f"{a}_traj.atif.json" for a in agent_ids},
                   facts=facts or {"setting": setting})


def by_source(document, source):
    return [s for s in document["steps"] if s["source"] == source]


# --- the steps --------------------------------------------------------------------------

SOLO = [system(), user("## Feature 1\n\nAdd a flag."),
        *turn("THOUGHT: look first", "ls", "a.py\nb.py", t=1, cached=400),
        *turn("THOUGHT: edit", "sed -i s/x/y/ a.py", "", t=3, cost=0.004, prompt=1500),
        assistant("Done.", "echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT", t=5),
        exit_message()]


def test_a_solo_trajectory_carries_thought_command_observation_and_metrics():
    document = atif_trajectory(SOLO, "solo", agent_job(["solo"], "solo"),
                               {"status": "Submitted", "cost_usd": 0.008})
    assert document["schema_version"] == SCHEMA_VERSION == "ATIF-v1.8"
    assert document["agent"] == {"name": "mini_swe_agent_v2", "version": "0.0.29",
                                 "model_name": "openai/gpt-x"}
    assert [s["source"] for s in document["steps"]] == [
        "system", "user", "agent", "agent", "agent", "system"]
    assert [s["step_id"] for s in document["steps"]] == [1, 2, 3, 4, 5, 6]
    first = document["steps"][2]
    assert first["message"] == "THOUGHT: look first"
    assert first["tool_calls"] == [{"tool_call_id": "call_1_0", "function_name": "bash",
                                    "arguments": {"command": "ls"}}]
    assert first["observation"]["results"] == [{
        "source_call_id": "call_1_0", "content": "<returncode>0</returncode>\n<output>\na.py\nb.py</output>",
        "extra": {"returncode": 0}}]
    assert first["metrics"] == {"prompt_tokens": 1000, "completion_tokens": 50, "cached_tokens": 400,
                                "cost_usd": 0.002, "extra": {
                                    "prompt_tokens_details": {"cached_tokens": 400}}}
    assert first["timestamp"] == "2026-05-01T10:00:01+00:00" and first["llm_call_count"] == 1
    assert "reasoning_content" not in first  # the thought is the message, not repeated
    assert "observation" not in document["steps"][4]  # the sentinel's turn has no result stored
    assert document["steps"][-1]["message"] == "exit: Submitted"
    assert document["final_metrics"] == {
        "total_prompt_tokens": 3500, "total_completion_tokens": 150, "total_cached_tokens": 400,
        "total_cost_usd": 0.008, "total_steps": 6}


def test_a_format_error_with_the_models_reply_is_the_model_call_it_was():
    """mini-swe-agent 2.x keeps the reply (and cost) on the format error's message."""
    error = {"role": "user", "content": "Please always provide EXACTLY ONE action.", "extra": {
        "interrupt_type": "FormatError", "cost": 0.001, "response": {
            "choices": [{"message": {"role": "assistant", "content": "I think so."}}],
            "usage": {"prompt_tokens": 900, "completion_tokens": 9}}}}
    document = atif_trajectory([system(), user("task"), error], "solo", agent_job(["solo"]))
    step = document["steps"][2]
    assert (step["source"], step["message"], step["metrics"]["cost_usd"]) == (
        "agent", "I think so.", 0.001)
    assert step["observation"]["results"][0]["content"].startswith("Please always provide")


def test_an_agent_without_stored_messages_still_has_a_valid_document():
    document = atif_trajectory([], "agent1", agent_job(["agent1", "agent2"]))
    assert [s["source"] for s in document["steps"]] == ["system"]
    assert document["final_metrics"]["total_steps"] == 1 and "notes" in document


# --- the agents of one job, linked; their messages -------------------------------------

ASK, REPLY = "I take account.py. Which file is yours?", "money.py only."


def coop_pair() -> dict[str, list]:
    agent1 = [system(), user("feature 1"),
              *turn("Tell agent2.", send("agent2", ASK), "Message sent to agent2", t=1),
              user(f"[Message from agent2]: {REPLY}"),
              *turn("Apply.", "git apply f1.patch", "", t=4), exit_message()]
    agent2 = [system(), user("feature 3"), user(f"[Message from agent1]: {ASK}"),
              *turn("Answer.", send("agent1", REPLY), "Message sent to agent1", t=2),
              exit_message()]
    return {"agent1": agent1, "agent2": agent2}


def test_the_agents_of_a_coop_job_share_a_session_and_link_each_other():
    job = agent_job(["agent1", "agent2"])
    documents = {a: atif_trajectory(m, a, job) for a, m in coop_pair().items()}
    assert {d["session_id"] for d in documents.values()} == {"job-1"}
    assert [d["trajectory_id"] for d in documents.values()] == ["job-1/agent1", "job-1/agent2"]
    peers = documents["agent1"]["extra"]["coopbench"]["peers"]
    assert peers == [{"agent_id": "agent2", "trajectory_id": "job-1/agent2",
                      "trajectory_path": "agent2_traj.atif.json"}]
    assert documents["agent1"]["extra"]["coopbench"]["job_trajectory_path"] == JOB_FILE


def test_messages_between_agents_appear_as_sends_and_received_steps():
    job = agent_job(["agent1", "agent2"])
    agent1 = atif_trajectory(coop_pair()["agent1"], "agent1", job)
    sent = agent1["steps"][2]["tool_calls"][0]["extra"]["send_message"]
    assert sent == [{"to": "agent2", "content": ASK, "wait": False,
                     "to_trajectory_path": "agent2_traj.atif.json"}]
    received = agent1["steps"][3]
    assert (received["source"], received["message"]) == ("user", f"[Message from agent2]: {REPLY}")
    assert received["extra"] == {"message_from": "agent2",
                                 "from_trajectory_path": "agent2_traj.atif.json"}
    # a message that arrives before the first model call is kept (harbor's converter drops it)
    agent2 = atif_trajectory(coop_pair()["agent2"], "agent2", job)
    assert agent2["steps"][2]["extra"]["message_from"] == "agent1"


def test_the_job_document_dispatches_each_agent_and_references_its_file():
    job = agent_job(["agent1", "agent2", "agent3"], "team")
    outcomes = {"agent1": {"status": "Submitted", "feature_ids": [1], "cost_usd": 0.5,
                           "team_role": "lead"},
                "agent2": {"status": "Submitted", "feature_ids": [3], "cost_usd": 0.25,
                           "team_role": "member"},
                "agent3": {"status": "LimitsExceeded", "feature_ids": [4], "cost_usd": 0.25,
                           "team_role": "member"}}
    root = job_atif(job, outcomes)
    assert (root["session_id"], root["trajectory_id"], root["agent"]["name"]) == (
        "job-1", "job-1", "coopbench")
    dispatches = by_source(root, "agent")
    assert [d["llm_call_count"] for d in dispatches] == [0, 0, 0]  # no model call: a dispatch
    refs = [d["observation"]["results"][0]["subagent_trajectory_ref"][0] for d in dispatches]
    assert refs == [{"trajectory_id": f"job-1/{a}", "session_id": "job-1",
                     "trajectory_path": f"{a}_traj.atif.json", "extra": {"agent_id": a}}
                    for a in ("agent1", "agent2", "agent3")]
    assert json.loads(dispatches[0]["observation"]["results"][0]["content"])["team_role"] == "lead"
    assert root["final_metrics"]["total_cost_usd"] == 1.0


def team_job() -> Job:
    """A team job of three as the store holds it (not added to any session)."""
    run = Run(name="t", agent="mini_swe_agent_v2", model="openai/gpt-x", settings=["team"])
    return Job(id="team-job", run=run, run_name="t", repo="ledger_task", task_id=1,
               features=[1, 3, 4], setting="team")


def test_the_exporter_writes_a_team_of_three_with_roles_and_links(harbor_validate, tmp_path):
    ids = ("agent1", "agent2", "agent3")
    runs = {a: AgentRun(agent_id=a, feature_ids=[f], status="Submitted", steps=3, cost_usd=0.1,
                        input_tokens=10, output_tokens=2, messages_sent=1, messages_received=1)
            for a, f in zip(ids, (1, 3, 4))}
    lead = [system(), user("lead: feature 1"),
            *turn("Assign.", f"{send('agent2', 'take 3')}\n{send('agent3', 'take 4')}",
                  "Message sent to agent2\nMessage sent to agent3", t=1), exit_message()]
    member = [system(), user("member"), user("[Message from agent1]: take it"), exit_message()]
    stored = {"agent1": ("agent1_traj.json", lead), "agent2": ("agent3_traj.json", member),
              "agent3": ("agent4_traj.json", member)}
    files = atif_files(team_job(), runs, stored)
    assert sorted(files) == ["agent1_traj.atif.json", "agent3_traj.atif.json",
                             "agent4_traj.atif.json", JOB_FILE]
    documents = {name: json.loads(body) for name, body in files.items()}
    lead_doc = documents["agent1_traj.atif.json"]
    assert lead_doc["extra"]["coopbench"]["outcome"]["team_role"] == "lead"
    assert documents["agent4_traj.atif.json"]["extra"]["coopbench"]["outcome"]["team_role"] == "member"
    sends = lead_doc["steps"][2]["tool_calls"][0]["extra"]["send_message"]
    assert [(s["to"], s["to_trajectory_path"]) for s in sends] == [
        ("agent2", "agent3_traj.atif.json"), ("agent3", "agent4_traj.atif.json")]
    refs = [r["trajectory_path"] for s in by_source(documents[JOB_FILE], "agent")
            for r in s["observation"]["results"][0]["subagent_trajectory_ref"]]
    assert refs == ["agent1_traj.atif.json", "agent3_traj.atif.json", "agent4_traj.atif.json"]
    for name, body in files.items():
        (tmp_path / name).write_bytes(body)
    assert_valid(harbor_validate, sorted(tmp_path.glob("*.atif.json")))


# --- the export -------------------------------------------------------------------------

def put_trajectories(store, setting: str, messages: dict[str, list]) -> None:
    """Replace the stored trajectories of the run's done job in ``setting`` (features 1,2)."""
    with store.session() as session, session.begin():
        for agent_id, body in messages.items():
            artifact = session.scalars(select(Artifact).where(
                Artifact.job_id == job_id(RUN, REPO, TASK, (1, 2), setting),
                Artifact.name == f"{agent_id}_traj.json")).one()
            artifact.data_gz, artifact.size_bytes = Artifact.compress(json.dumps(body))


def test_the_export_writes_atif_beside_cooperbench_files_and_harbor_accepts_them(
        store, tmp_path, harbor_validate):
    build(store)
    put_trajectories(store, "solo", {"solo": SOLO})
    put_trajectories(store, "coop", coop_pair())
    out = tmp_path / "out"
    export_run(store, RUN, out)
    coop = out / f"{RUN}-coop/coop/demo_task/7/f1_f2"
    assert {p.name for p in coop.glob("*.atif.json")} == {
        "agent1_traj.atif.json", "agent2_traj.atif.json", JOB_FILE}
    agent1 = json.loads((coop / "agent1_traj.atif.json").read_text())
    cooperbench = json.loads((coop / "agent1_traj.json").read_text())
    assert len(by_source(agent1, "agent")) == sum(
        m["role"] == "assistant" for m in cooperbench["messages"])
    assert agent1["extra"]["coopbench"]["outcome"]["cost_usd"] == 0.25  # the store's figure
    assert agent1["extra"]["coopbench"]["setting"] == "coop"
    solo = out / f"{RUN}-solo/solo/demo_task/7/f1_f2"
    assert {p.name for p in solo.glob("*.atif.json")} == {"solo_traj.atif.json", JOB_FILE}
    assert_valid(harbor_validate, sorted(out.rglob("*.atif.json")))


def test_harbors_validator_rejects_what_is_not_atif(harbor_validate, tmp_path):
    """The validator is live: a document without steps, and one step out of order, fail."""
    document = atif_trajectory(SOLO, "solo", agent_job(["solo"]))
    (tmp_path / "none.json").write_text(json.dumps({**document, "steps": []}))
    document["steps"][1]["step_id"] = 7
    (tmp_path / "order.json").write_text(json.dumps(document))
    report = harbor_validate([tmp_path / "none.json", tmp_path / "order.json"])
    assert all(report.values()), report


# --- real trajectories ----------------------------------------------------------------

# Recorded from tests/integration/test_upstream_agents.py (upstream's mini_swe_agent_v2,
# hosted by coopbench's workers, against tests/support/fakellm.py): the messages of its
# solo, coop (messaging both ways) and team jobs, by agent id; see ``recorded_from`` in it.
REAL = json.loads(gzip.decompress(
    (Path(__file__).parent / "real_upstream_trajectories.json.gz").read_bytes()))


def real(job: str) -> dict[str, list]:
    return {agent_id: entry["messages"] for agent_id, entry in REAL[job].items()}


def test_real_upstream_trajectories_export_linked_and_harbor_accepts_them(
        store, tmp_path, harbor_validate):
    build(store)
    put_trajectories(store, "solo", real("solo"))
    put_trajectories(store, "coop", real("coop"))
    out = tmp_path / "out"
    export_run(store, RUN, out)
    coop = out / f"{RUN}-coop/coop/demo_task/7/f1_f2"
    agent1 = json.loads((coop / "agent1_traj.atif.json").read_text())
    agent2 = json.loads((coop / "agent2_traj.atif.json").read_text())
    # every model call is an agent step with its command, output, tokens and time
    calls = by_source(agent1, "agent")
    assert len(calls) == sum(m["role"] == "assistant" for m in real("coop")["agent1"])
    *worked, submitted = calls  # the sentinel's command ends the run: no output stored
    assert all(s["observation"]["results"][0]["source_call_id"] ==
               s["tool_calls"][0]["tool_call_id"] for s in worked)
    assert submitted["tool_calls"][0]["arguments"] == {
        "command": "echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT"}
    assert agent1["steps"][-1]["message"] == "exit: Submitted"
    assert all((s["metrics"]["prompt_tokens"], s["metrics"]["completion_tokens"]) == (100, 20)
               for s in calls)
    assert all(s["timestamp"].endswith("+00:00") for s in calls)
    # upstream's messages both ways: agent1 asks, agent2 receives, answers, agent1 receives
    asked = calls[0]["tool_calls"][0]["extra"]["send_message"]
    assert asked == [{"to": "agent2", "content": "I take account.py. Which file is yours?",
                      "wait": False, "to_trajectory_path": "agent2_traj.atif.json"}]
    assert '"output": "Message sent to agent2"' in calls[0]["observation"]["results"][0]["content"]
    heard = [s["extra"]["message_from"] for s in by_source(agent2, "user")
             if "message_from" in s.get("extra", {})]
    answered = [s["extra"]["message_from"] for s in by_source(agent1, "user")
                if "message_from" in s.get("extra", {})]
    assert (heard, answered) == (["agent1"], ["agent2"])
    assert_valid(harbor_validate, sorted(out.rglob("*.atif.json")))


def test_a_real_team_of_three_converts_with_its_task_list_and_harbor_accepts_it(
        harbor_validate, tmp_path):
    team = real("team")
    runs = {a: AgentRun(agent_id=a, feature_ids=[f], status="Submitted", steps=3, cost_usd=0.0)
            for a, f in zip(team, (1, 3, 4))}
    stored = {a: (REAL["team"][a]["file"], messages) for a, messages in team.items()}
    files = atif_files(team_job(), runs, stored)
    lead = json.loads(files["agent1_traj.atif.json"])
    assert any(s["message"].startswith("[Team task list]") for s in by_source(lead, "user"))
    assert [p["trajectory_path"] for p in lead["extra"]["coopbench"]["peers"]] == [
        "agent3_traj.atif.json", "agent4_traj.atif.json"]
    for name, body in files.items():
        (tmp_path / name).write_bytes(body)
    assert_valid(harbor_validate, sorted(tmp_path.glob("*.atif.json")))
