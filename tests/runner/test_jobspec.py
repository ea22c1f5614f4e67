"""Job identity, agent assignment and per-task options."""

import pytest

from coopbench.errors import ConfigError
from coopbench.job.setting import AgentAssignment as Assignment
from coopbench.job.setting import Setting, assignments, job_id, parse_settings
from coopbench.job.spec import JobSpec
from coopbench.sandbox.containers import Network
from coopbench.store import Job, Run


def test_job_id_is_deterministic_and_distinguishes_every_part():
    base = job_id("run", "ledger_task", 0, (1, 2), "coop")
    assert base == job_id("run", "ledger_task", 0, (1, 2), "coop")
    others = {
        job_id("run2", "ledger_task", 0, (1, 2), "coop"),
        job_id("run", "textkit_task", 0, (1, 2), "coop"),
        job_id("run", "ledger_task", 1, (1, 2), "coop"),
        job_id("run", "ledger_task", 0, (1, 3), "coop"),
        job_id("run", "ledger_task", 0, (1, 2), "solo"),
    }
    assert base not in others and len(others) == 5


def test_agent1_gets_the_lower_feature_and_solo_keeps_the_given_order():
    assert assignments("coop", (7, 3)) == [Assignment("agent1", (3,)), Assignment("agent2", (7,))]
    assert assignments("coop-nocomm", (1, 2))[1] == Assignment("agent2", (2,))
    assert assignments("solo", (7, 3)) == [Assignment("solo", (7, 3))]


def test_settings_are_parsed_with_a_clear_error():
    assert parse_settings("solo, coop,coop-nocomm,solo") == [Setting.solo, Setting.coop,
                                                             Setting.coop_nocomm]
    with pytest.raises(ConfigError, match="unknown setting 'team'.*solo, coop, coop-nocomm"):
        parse_settings("solo,team")
    with pytest.raises(ConfigError, match="no setting"):
        parse_settings(" , ")


@pytest.mark.parametrize("config, expected", [
    ({"sandbox_network": "default"}, Network.default),
    ({"sandbox_network": "none"}, Network.none),
    ({}, Network.none),  # a run enqueued before the option: its containers had no network
])
def test_a_jobs_containers_get_the_runs_network(config, expected):
    run = Run(name="r", config=config)
    job = Job(id="j", repo="ledger_task", task_id=0, features=[1, 2], setting="coop")
    assert JobSpec(job, run, {}).sandbox_network is expected
    assert expected.network_mode == (None if expected is Network.default else "none")
