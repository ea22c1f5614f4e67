"""An agent's ATIF steps as the page's steps: the prompt apart, what each call was shown
before it, the command, the observation decoded, cost and tokens accumulating."""

import json

from coopbench.export.atif import AtifJob, atif_trajectory
from coopbench.view.steps import observation_output, timeline
from tests.view import synthetic_job

JOB = AtifJob(job_id="j", agent_name="mini_swe_agent_v2", agent_version="", coopbench_version="",
              model="m", agent_files={"agent1": "agent1", "agent2": "agent2"})


def steps_of(messages: list[dict], agent: str):
    return timeline(atif_trajectory(messages, agent, JOB)["steps"])


def test_a_trajectory_becomes_one_step_per_model_call():
    line = steps_of(synthetic_job.agent1(), "agent1")
    assert [s.number for s in line.steps] == [1, 2, 3, 4]
    assert line.prompt[0].startswith("You are **agent1**") and "## Feature 1" in line.prompt[1]
    first = line.steps[0]
    assert first.thought == "Ask first."
    assert first.commands == [f"send_message agent2 <<'MSG'\n{synthetic_job.ASK}\nMSG"]
    assert first.sends == [("agent2", synthetic_job.ASK)]
    assert first.observation == "Message sent to agent2"  # the JSON observation's output
    assert line.steps[2].received == [f"[Message from agent2]: {synthetic_job.REPLY}"]
    assert line.trailing == ["exit: Submitted"]


def test_cost_and_tokens_accumulate_step_by_step():
    line = steps_of(synthetic_job.agent2(), "agent2")
    assert [round(s.total_cost_usd, 3) for s in line.steps] == [0.005, 0.01, 0.015, 0.02]
    assert [s.total_tokens for s in line.steps] == [1050, 2100, 3150, 4200]
    assert all(s.tokens == 1050 and s.cost_usd == 0.005 for s in line.steps)


def test_steps_read_the_same_from_dicts_and_timestamps_are_seconds():
    line = steps_of(synthetic_job.agent2(), "agent2")
    assert line.steps[0].timestamp == synthetic_job.T0 + 2


def test_a_message_before_the_first_call_is_received_by_it_not_part_of_the_task():
    messages = synthetic_job.agent2()
    messages.insert(2, {"role": "user", "content": "[Message from agent1]: early"})
    line = steps_of(messages, "agent2")
    assert len(line.prompt) == 2 and line.steps[0].received == ["[Message from agent1]: early"]


def test_observations_in_upstreams_shapes():
    assert observation_output(json.dumps({"returncode": 0, "output": "ok\n"})) == "ok\n"
    assert observation_output(json.dumps({"returncode": 2, "output": "no"})) == "[exit 2]\nno"
    long = {"returncode": 0, "output_head": "head", "output_tail": "tail", "elided_chars": 12}
    assert observation_output(json.dumps(long)) == "head\n[... 12 characters elided ...]\ntail"
    assert observation_output("<returncode>0</returncode>") == "<returncode>0</returncode>"
