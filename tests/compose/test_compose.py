"""The compose stack (docker-compose.yml) from locally built images, as a user runs it:
config validated, two workers, the demo enqueued through the `enqueue` service, the results
in the stack's PostgreSQL, Flower behind basic auth listing every job and both workers,
then `down -v` with nothing left behind.

The images come from scripts/compose-images.sh, which builds only what changed (the first
build takes a few minutes, a check afterwards a fraction of a second); the suite starts it
with the session and runs these tests last (tests/compose/images.py)."""

import ast
import base64
import json
import re
import time
import urllib.error
import urllib.request

import pytest
import yaml
from sqlalchemy import func, select

from coopbench.export.run_export import export_run
from coopbench.store import Attempt, Job, Store
from coopbench.store.states import FINISHED_STATES
from tests.compose.stack import REPO_ROOT, Stack
from tests.support.polling import wait_until

pytestmark = [pytest.mark.docker, pytest.mark.timeout(1500)]

COMPOSE_TEXT = (REPO_ROOT / "docker-compose.yml").read_text()
RUN_TIMEOUT_S = 300
DEMO_JOBS = 36
DEMO_PASSED = {"solo": 9, "coop": 9, "coop-nocomm": 9}  # README's demo table
WORKERS = 2


@pytest.fixture(scope="module")
def compose_images(compose_build) -> None:
    compose_build.wait()  # started with the session (tests/compose/images.py)


@pytest.fixture
def stack(tmp_path, compose_images, docker_client):
    stack = Stack(tmp_path)
    try:
        yield stack
    finally:
        stack.destroy(docker_client)


def test_config_is_valid_and_secrets_come_from_the_env_file(tmp_path):
    stack = Stack(tmp_path)  # nothing is started: no images needed
    config = yaml.safe_load(stack.compose("config").stdout)
    services = config["services"]
    assert set(services) == {"redis", "postgres", "worker", "sweeper", "flower", "enqueue", "cli"}
    published = [port for service in services.values() for port in service.get("ports", [])]
    assert sorted(published) == sorted(  # docker-compose v1 writes host_ip:port:port/proto
        f"127.0.0.1:{stack.values[name]}:{port}/tcp"
        for name, port in (("REDIS_PORT", 6379), ("POSTGRES_PORT", 5432), ("FLOWER_PORT", 5555)))
    password = stack.values["REDIS_PASSWORD"]
    assert services["worker"]["environment"]["COOPBENCH_BROKER_URL"] == \
        f"redis://:{password}@redis:6379/0"
    for line in COMPOSE_TEXT.splitlines():  # no secret written in the file itself
        secret = re.match(r"\s*[A-Z_]*(PASSWORD|API_KEY|BASIC_AUTH):\s*(\S.*)$", line)
        assert not secret or secret.group(2).startswith("${"), line
        literal = re.sub(r"\$\{[^}]*\}", "", line)  # what is left without substitutions
        assert not re.search(r"://[^:/@\s]*:[^@\s]+@", literal), line  # no password in a URL
    for service in services.values():  # nor on any command line (ps, docker inspect)
        command = " ".join(service.get("command", []))
        assert not any(stack.values[name] in command for name in
                       ("REDIS_PASSWORD", "POSTGRES_PASSWORD", "FLOWER_PASSWORD")), command

    without = {k: v for k, v in stack.values.items() if k != "POSTGRES_PASSWORD"}
    missing = stack.compose("config", env_file=stack.write_env(without, "missing.env"),
                            check=False)
    assert missing.returncode != 0 and "set POSTGRES_PASSWORD in .env" in missing.stderr


def test_demo_through_the_stack(stack, docker_client, tmp_path):
    started = time.monotonic()
    stack.compose("up", "-d", "--no-build", "--scale", f"worker={WORKERS}")
    up_s = time.monotonic() - started
    try:
        enqueued = stack.compose("run", "--rm", "enqueue", timeout=600).stdout
        assert f"run {stack.run}: {DEMO_JOBS} jobs ({DEMO_JOBS} new" in enqueued, enqueued
        enqueued_s = time.monotonic() - started
        store = Store(stack.database_url)
        wait_until_finished(store, stack.run)
        ran_s = time.monotonic() - started

        manifest = export_run(store, stack.run, tmp_path / "export")
        figures = manifest["settings"]
        assert {s: figures[s]["both_passed"] for s in figures} == DEMO_PASSED
        assert all(figures[s]["done"] == figures[s]["pairs"] == 12 for s in figures)
        with store.session() as session:
            workers_used = {worker.rsplit(":", 1)[0] for worker in session.scalars(  # name:pid
                select(Attempt.worker).join(Job).where(Job.run_name == stack.run))}
            hosts = set(session.scalars(
                select(Attempt.host).join(Job).where(Job.run_name == stack.run)))
        store.dispose()
        assert hosts == {stack.host_name}  # COOPBENCH_HOST_NAME, not the container ids
        check_flower(stack, {entry["id"] for entry in manifest["jobs"]}, workers_used)
    except BaseException:
        print(stack.logs())
        raise

    stack.compose("down", "-v", "--timeout", "10")
    assert stack.leftovers(docker_client) == {
        "containers": [], "volumes": [], "networks": [], "task containers": []}
    print(f"\nstack up {up_s:.0f} s, enqueued {enqueued_s:.0f} s, run finished {ran_s:.0f} s, "
          f"checked and down {time.monotonic() - started:.0f} s")


def wait_until_finished(store: Store, run: str) -> None:
    counts: dict[str, int] = {}

    def finished() -> bool:
        with store.session() as session:
            counts.clear()
            counts.update(session.execute(select(Job.state, func.count()).where(
                Job.run_name == run).group_by(Job.state)).all())
        return sum(counts.values()) == DEMO_JOBS and set(counts) <= set(FINISHED_STATES)

    wait_until(finished, lambda: f"run {run} to finish: {counts}", RUN_TIMEOUT_S, 1)
    assert counts == {"done": DEMO_JOBS}, counts


def http_get(url: str, auth: tuple[str, str] | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url)
    if auth:
        token = base64.b64encode(":".join(auth).encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def check_flower(stack: Stack, job_ids: set[str], workers_used: set[str]) -> None:
    for path in ("/", "/api/tasks", "/api/workers"):
        assert http_get(stack.flower_url + path)[0] == 401, path
    assert http_get(stack.flower_url + "/api/tasks", ("admin", "wrong"))[0] == 401

    def api(path: str) -> dict:
        status, body = http_get(stack.flower_url + path, stack.flower_auth)
        assert status == 200, (path, status, body[:500])
        return json.loads(body)

    deadline = time.monotonic() + 30  # Flower learns of the last tasks from events
    while True:
        tasks = api("/api/tasks?limit=1000")
        if {tid for tid, t in tasks.items() if t["state"] == "SUCCESS"} >= job_ids \
                or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert set(tasks) == job_ids, "Flower's tasks are the jobs, by job id"
    for job_id, task in tasks.items():
        assert task["name"] == "coopbench.run_job" and task["state"] == "SUCCESS"
        job_arg, label = ast.literal_eval(task["args"])  # the argsrepr enqueue sent
        assert job_arg == job_id and label.startswith(f"{stack.run} "), task["args"]
        assert label.split()[1] in DEMO_PASSED  # the setting, then repo/task and the pair
    workers = api("/api/workers?refresh=1")  # <container>@<WORKER_HOST_NAME>
    assert len(workers) == WORKERS and workers_used == set(workers), (workers, workers_used)
    assert all(name.endswith(f"@{stack.host_name}") for name in workers), workers
    assert api("/api/workers?status=1") == {name: True for name in workers}
    # Queue lengths: Flower reads them from Redis without --broker-api.
    assert api("/api/queues/length") == {"active_queues": [{"name": "coopbench", "messages": 0}]}

