"""A worker SIGKILLed while upstream's adapter runs coop-git and team jobs: what the adapter
and coopbench started for them (agent containers, the git server and its network, the team
scratchpad volume) carries the job's labels, and one cleanup pass after the lease runs out
removes all of it."""

import os
import signal
import time

import pytest
import yaml

from coopbench.dataset.tasks import demo_dataset_path
from coopbench.ops.localcluster import LocalWorkers
from coopbench.sandbox.cleanup import remove_orphans
from coopbench.store import Store
from tests.support.containers import run_containers
from tests.support.fakellm import FakeLLM, bash
from tests.support.runs import FAKE_MODEL

pytestmark = pytest.mark.docker

DEADLINE_S = 120


def labelled(docker_client, run: str) -> dict[str, list[str]]:
    label = {"label": f"coopbench.run={run}"}
    return {"containers": run_containers(docker_client, run),
            "networks": sorted(n.name for n in docker_client.networks.list(filters=label)),
            "volumes": sorted(v.name for v in docker_client.volumes.list(filters=label))}


def test_one_cleanup_pass_removes_what_a_killed_worker_left(
        fault_settings, cli, demo_images, docker_client, tmp_path):
    settings = fault_settings
    run = f"updeath-{settings.queue[-8:]}"
    busy = [bash("sleep 120")] * 3  # every agent is mid-command when its worker dies
    with FakeLLM({"*": [bash("true")], **{f"agent{i}": list(busy) for i in (1, 2, 3)}}) as llm:
        config = tmp_path / "agent.yaml"
        config.write_text(yaml.safe_dump({"config": {"model": {"model_kwargs": {"api_base": llm.url}}}}))
        workers = LocalWorkers(settings, 1, 2, tmp_path / "doomed", "doomed",
                               {"OPENAI_API_KEY": "sk-test"})
        try:
            workers.start()
            for features, setting in (("1,3", "coop-git"), ("1,3,4", "team")):
                enqueued = cli("enqueue", "--run", run, "--dataset", str(demo_dataset_path()),
                               "--repo", "ledger_task", "--features", features,
                               "--settings", setting, "--model", FAKE_MODEL,
                               "--agent-config", str(config), "--image-template", demo_images,
                               "--no-check-model", OPENAI_API_KEY="sk-test")
                assert enqueued.returncode == 0, enqueued.stderr
            deadline = time.monotonic() + DEADLINE_S
            # 2 + 3 agent containers, the git server and each job's evaluation container
            # (started ahead, while the agents work); the git server's network; team's volume
            while len(llm.requests) < 5 or len(labelled(docker_client, run)["containers"]) < 8:
                assert time.monotonic() < deadline and workers.alive(), labelled(docker_client, run)
                time.sleep(0.2)
            os.killpg(workers.processes[0].pid, signal.SIGKILL)
            workers.processes[0].wait()
        finally:
            workers.stop()

    left = labelled(docker_client, run)
    assert len(left["containers"]) == 8 and len(left["networks"]) == 1 and len(left["volumes"]) == 1
    assert not [c for c in docker_client.containers.list(all=True, filters={"name": "minisweagent-"})]
    time.sleep(settings.lease_s + 1)  # the dead worker's leases run out

    removed = remove_orphans(Store(settings.database_url), docker_client)
    assert sorted(removed) == sorted(left["containers"] + left["networks"] + left["volumes"])
    assert labelled(docker_client, run) == {"containers": [], "networks": [], "volumes": []}
