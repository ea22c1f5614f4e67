"""Upstream's CLI adapters, ``claude_code`` and ``codex``, hosted by coopbench as far as this
machine allows: ``coopbench enqueue --agent claude_code|codex`` -> a real Celery worker ->
upstream's adapter starting its container under coopbench's name and labels -> its
``setup.sh`` installing the CLI from npm's registry -> the real CLI (Claude Code, Codex)
calling a scripted model server on the host (tests/support/fake_anthropic.py) -> one shell
command run by the CLI's own tool (the gold patches, ``patch.txt``) -> evaluation.

Where it stops, and what stands in:
- The demo images (as upstream's task images) have no npm; ``setup.sh`` then fetches
  NodeSource's setup script, which is not reachable here, and the install fails
  (``npm: command not found``): the adapter reports ``Error``. The tests run on the demo
  image plus Debian's ``nodejs`` and ``npm`` packages, so the CLIs come from npm's registry
  as ``setup.sh`` installs them (the latest version at the time of the run).
- No real provider: Claude Code is pointed at the fake with ``ANTHROPIC_BASE_URL`` (which
  the adapter rewrites to ``host.docker.internal``); codex through upstream's Azure route
  (``AZURE_OPENAI_ENDPOINT``, written verbatim into codex's config, so the bridge gateway's
  address): with only ``OPENAI_API_KEY`` codex calls api.openai.com (the adapter passes no
  base URL into the container), which is not reachable here; codex reconnects (seen for ten
  minutes) until the adapter's two-hour timeout.
"""

import io
import ipaddress
import threading
import time

import pytest
from sqlalchemy import select

from coopbench.dataset.images import image_name
from coopbench.dataset.tasks import demo_dataset_path, load_tasks
from coopbench.ops.localcluster import LocalWorkers
from coopbench.store import AgentRun, Attempt, Job, Store
from tests.support.containers import run_containers
from tests.support.fake_anthropic import (
    FakeAnthropic,
    FakeResponses,
    end_turn,
    function_call,
    function_outputs,
    output_text,
    tool_results,
    tool_use,
)
from tests.support.runs import wait_until_finished

pytestmark = [pytest.mark.docker, pytest.mark.cli_adapters]  # opt-in: -m cli_adapters

LEDGER = {t.repo: t for t in load_tasks(demo_dataset_path())}["ledger_task"]
CLI_IMAGE_TEMPLATE = "coopbench-test-cli-{slug}:task{task_id}"
KEY = "sk-coopbench-cli-test"
APPLIED = "coopbench-cli-applied"  # printed by the scripted command once the patches apply
COMMAND = "".join(f"git apply <<'GOLD'\n{LEDGER.gold_patch(fid)}GOLD\n" for fid in (1, 3)) + (
    f"git diff > patch.txt && echo {APPLIED}")
RUN_TIMEOUT_S = 420  # two npm installs of the CLI (up to a minute or two each) and evaluation


@pytest.fixture(scope="module")
def cli_images(docker_client, demo_images) -> str:
    """The ledger demo image with Debian's nodejs and npm; returns its name template."""
    base = image_name(demo_images, LEDGER.repo, LEDGER.task_id)
    dockerfile = (f"FROM {base}\nRUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive "
                  "apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null "
                  "&& rm -rf /var/lib/apt/lists/*\n")
    docker_client.images.build(fileobj=io.BytesIO(dockerfile.encode()), rm=True, forcerm=True,
                               tag=image_name(CLI_IMAGE_TEMPLATE, LEDGER.repo, LEDGER.task_id))
    return CLI_IMAGE_TEMPLATE


class Watcher(threading.Thread):
    """Notes the run's containers (name -> labels, IP address) while they exist, and any
    container upstream's environment started under its own name."""

    def __init__(self, docker_client, run: str):
        super().__init__(daemon=True)
        self.docker, self.label = docker_client, f"coopbench.run={run}"
        self.containers: dict[str, tuple[dict, set[str]]] = {}
        self.unlabelled: set[str] = set()
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            for c in self.docker.containers.list(all=True, sparse=True, filters={"label": self.label}):
                networks = (c.attrs.get("NetworkSettings") or {}).get("Networks") or {}
                name = c.attrs["Names"][0].lstrip("/")
                _, addresses = self.containers.setdefault(name, (c.attrs.get("Labels") or {}, set()))
                addresses.update(n["IPAddress"] for n in networks.values() if n.get("IPAddress"))
            for c in self.docker.containers.list(all=True, sparse=True, filters={"name": "minisweagent-"}):
                self.unlabelled.add(c.attrs["Names"][0])
            time.sleep(0.1)


def bridge_gateway(docker_client) -> str:
    """The host's address on Docker's default bridge, as containers reach it."""
    (config,) = docker_client.networks.get("bridge").attrs["IPAM"]["Config"]
    return config.get("Gateway") or str(ipaddress.ip_network(config["Subnet"])[1])


def run_adapter(cli, settings, docker_client, tmp_path, run: str, agent: str, model: str,
                image_template: str, env: dict[str, str]) -> tuple[Job, AgentRun, Watcher]:
    store = Store(settings.database_url)
    watcher = Watcher(docker_client, run)
    watcher.start()
    started = time.monotonic()
    try:
        with LocalWorkers(settings, count=1, concurrency=1, log_dir=tmp_path / "logs",
                          extra_env=env) as workers:
            enqueued = cli("enqueue", "--run", run, "--dataset", str(demo_dataset_path()),
                           "--repo", LEDGER.repo, "--features", "1,3", "--settings", "solo",
                           "--agent", agent, "--model", model, "--no-check-model",
                           "--image-template", image_template)
            assert enqueued.returncode == 0, enqueued.stderr
            wait_until_finished(store, run, workers, timeout_s=RUN_TIMEOUT_S)
    finally:
        watcher.stop.set()
        watcher.join()
    print(f"{agent}: run finished in {time.monotonic() - started:.0f} s")
    with store.session() as session:
        (job,) = session.scalars(select(Job).where(Job.run_name == run))
        (agent_run,) = session.scalars(select(AgentRun).join(Attempt).where(Attempt.job_id == job.id))
    return job, agent_run, watcher


def assert_hosted(job: Job, agent_run: AgentRun, watcher: Watcher, requests, docker_client,
                  run: str) -> None:
    """The CLI ran in coopbench's labelled container and its calls came from there; its
    tool's command produced the graded patch; nothing labelled is left."""
    assert (job.state, job.both_passed) == ("done", True), job.error
    assert (agent_run.status, agent_run.error) == ("Submitted", None)
    name = f"coopbench-{job.id[:8]}-1-solo"
    assert not watcher.unlabelled
    assert set(watcher.containers) >= {name}
    labels, addresses = watcher.containers[name]
    assert (labels["coopbench.run"], labels["coopbench.job"], labels["coopbench.attempt"],
            labels["coopbench.role"]) == (run, job.id, "1", "solo")
    assert requests and {r.client for r in requests} <= addresses, (
        [r.client for r in requests], addresses)
    assert run_containers(docker_client, run) == []


def test_claude_code_cli_runs_in_coopbenchs_container_against_the_test_server(
        cli, settings, docker_client, cli_images, tmp_path):
    def answer(body: dict) -> dict:
        if not body.get("tools"):  # a side call of the CLI's (none seen with 2.1.x)
            return end_turn("ok")
        return end_turn("Done.") if tool_results(body) else tool_use(
            "Bash", {"command": COMMAND, "description": "apply the features"})

    run = f"cc-{settings.queue[-8:]}"
    with FakeAnthropic(answer) as server:
        env = {"ANTHROPIC_BASE_URL": f"http://127.0.0.1:{server.port}", "ANTHROPIC_API_KEY": KEY}
        job, agent_run, watcher = run_adapter(cli, settings, docker_client, tmp_path, run,
                                              "claude_code", "anthropic/claude-sonnet-4-6",
                                              cli_images, env)
    assert_hosted(job, agent_run, watcher, server.requests, docker_client, run)
    turns = [r for r in server.requests if r.body.get("tools")]
    assert len(turns) == 2 and {r.path.split("?")[0] for r in turns} == {"/v1/messages"}
    assert {r.headers.get("x-api-key") for r in turns} == {KEY}
    assert turns[0].body["model"] == "anthropic/claude-sonnet-4-6"  # kept as given: a custom endpoint
    assert "## Feature 1" in str(turns[0].body["messages"][0]["content"])
    assert any(APPLIED in result for result in tool_results(turns[1].body))
    # Upstream's parser read the CLI's stream: usage as the fake reported it.
    assert agent_run.input_tokens > 0 and agent_run.output_tokens > 0


def test_codex_cli_runs_in_coopbenchs_container_against_the_test_server(
        cli, settings, docker_client, cli_images, tmp_path):
    def answer(body: dict) -> dict:
        if function_outputs(body):
            return output_text("Done.")
        return function_call("exec_command", {"cmd": COMMAND})

    run = f"cx-{settings.queue[-8:]}"
    with FakeResponses(answer) as server:
        endpoint = f"http://{bridge_gateway(docker_client)}:{server.port}/openai/v1"
        env = {"AZURE_OPENAI_API_KEY": KEY, "AZURE_OPENAI_ENDPOINT": endpoint, "OPENAI_API_KEY": ""}
        job, agent_run, watcher = run_adapter(cli, settings, docker_client, tmp_path, run,
                                              "codex", "openai/gpt-5.5", cli_images, env)
    assert_hosted(job, agent_run, watcher, server.requests, docker_client, run)
    assert len(server.requests) == 2
    assert {r.path for r in server.requests} == {"/openai/v1/responses"}
    assert {r.headers.get("authorization") for r in server.requests} == {f"Bearer {KEY}"}
    assert server.requests[0].body["model"] == "gpt-5.5"  # the provider prefix stripped
    assert any(APPLIED in output for output in function_outputs(server.requests[1].body))
