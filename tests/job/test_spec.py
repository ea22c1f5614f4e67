"""A job as the store holds it: what its containers get from its run."""

import pytest

from coopbench.job.spec import JobSpec
from coopbench.sandbox.containers import Network
from coopbench.store import Job, Run


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
