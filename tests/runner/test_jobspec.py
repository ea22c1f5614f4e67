"""Job identity, agent assignment and per-task options."""

import pytest

from coopbench.errors import ConfigError
from coopbench.jobspec import Assignment, Setting, assignments, job_id, parse_settings
from coopbench.job_context import JobSpec
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


@pytest.mark.parametrize("patterns, expected", [
    ([], False), (["*"], True), (["ledger_task/*"], True), (["ledger_task/0"], True),
    (["ledger_task/1", "textkit_task/*"], False),
])
def test_evaluation_network_is_a_per_task_option(patterns, expected):
    run = Run(name="r", config={"eval_network": patterns})
    job = Job(id="j", repo="ledger_task", task_id=0, features=[1, 2], setting="coop")
    assert JobSpec(job, run, {}).eval_network is expected
