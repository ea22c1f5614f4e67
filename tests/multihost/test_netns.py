"""The demo's coop jobs on two hosts made of network namespaces (see ``network.py``): workers reach
Redis and PostgreSQL only over the hosts' network, with passwords; the jobs spread over both
hosts; and ``coopbench export`` writes the same files whichever host runs it."""

import json
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import psycopg
import pytest
import redis
from sqlalchemy import select

from coopbench.dataset.tasks import demo_dataset_path
from coopbench.export.run_export import MANIFEST_NAME
from coopbench.store import Attempt, Evaluation, Job, Store
from tests.conftest import COOPBENCH
from tests.support.containers import wait_run_containers_removed
from tests.support.polling import wait_until
from tests.support.runs import expected_outcome, wait_until_finished

pytestmark = pytest.mark.docker

READY_TIMEOUT_S = 60
VOLATILE_MANIFEST_KEYS = ("exported_at",)  # the only field that may differ between exports
JOBS = 12  # the demo's 12 pairs in the coop setting: enough to spread over both hosts


def test_demo_run_across_two_namespace_hosts(topology, redis_server, postgres, hosts,
                                             demo_images, docker_client, tmp_path):
    run = f"netns-{topology.tag}"
    host1, host2 = hosts
    _services_need_their_passwords(redis_server, postgres)
    # Inside a namespace, localhost is the namespace's own: nothing of the host answers there.
    probe = host1.run(sys.executable, "-c", "import redis; redis.Redis(socket_connect_timeout=2).ping()")
    assert probe.returncode != 0 and "ConnectionError" in probe.stderr

    _ok(host1.run(COOPBENCH, "db", "upgrade"))  # the schema, created from a host
    _start_workers(hosts)

    started = time.monotonic()
    enqueued = _ok(host2.run(
        COOPBENCH, "enqueue", "--run", run, "--dataset", str(demo_dataset_path()),
        "--settings", "coop", "--agent", "oracle", "--step-limit", "1",
        "--cost-limit", "0", "--image-template", demo_images))
    assert f"run {run}: {JOBS} jobs ({JOBS} new" in enqueued and f"{JOBS} published" in enqueued, enqueued
    store = Store(postgres.url)
    try:
        wait_until_finished(store, run, SimpleNamespace(alive=lambda: all(h.alive() for h in hosts)))
        print(f"{JOBS} jobs on 2 namespace hosts in {time.monotonic() - started:.1f} s")
        with store.session() as session:
            jobs = session.scalars(select(Job).where(Job.run_name == run)).all()
            attempts = session.scalars(select(Attempt).join(Job).where(Job.run_name == run)).all()
            evaluation_hosts = set(session.scalars(
                select(Evaluation.host).join(Job, Evaluation.job_id == Job.id)
                .where(Job.run_name == run)))
    finally:
        store.dispose()

    assert len(jobs) == JOBS and {job.state for job in jobs} == {"done"}, \
        {job.id: job.error for job in jobs if job.state != "done"}
    assert len(attempts) == JOBS and {a.state for a in attempts} == {"done"}
    names = {host.hostname for host in hosts}
    assert {a.host for a in attempts} == names, "both hosts ran jobs, and only they did"
    assert {a.worker.split(":")[0] for a in attempts} == {f"w@{name}" for name in names}
    assert evaluation_hosts <= names
    wait_run_containers_removed(docker_client, run)

    exports = {}
    for host in hosts:  # the same relative logs root on each: log_dir is written as given
        _ok(host.run(COOPBENCH, "export", "--run", run, "--out", "export"))
        exports[host.hostname] = host.workdir / "export"
    first, second = exports.values()
    assert _differences(first, second) == [], "the exports differ between hosts"

    _assert_expected_outcomes(first)


def _start_workers(hosts) -> None:
    """One worker per host, concurrency 2; returns once both are ready, so both take jobs."""
    for host in hosts:
        host.start_worker(sys.executable, host.env["COOPBENCH_QUEUE"], concurrency=2)
    wait_until(lambda: all(host.ready() for host in hosts),
               lambda: f"both workers to be ready:\n{_logs(hosts)}", READY_TIMEOUT_S,
               alive=lambda: all(host.alive() for host in hosts))


def _assert_expected_outcomes(out: Path) -> None:
    manifest = json.loads((out / MANIFEST_NAME).read_text())
    assert len(manifest["jobs"]) == JOBS
    for entry in manifest["jobs"]:
        key = (entry["repo"], entry["task_id"], tuple(entry["features"]))
        evaluation = json.loads((out / entry["dir"] / "eval.json").read_text())
        outcome = (evaluation["merge"] and evaluation["merge"]["status"],
                   evaluation["feature1"]["passed"], evaluation["feature2"]["passed"])
        assert outcome == expected_outcome(entry["setting"], key), (entry["setting"], key)


def _services_need_their_passwords(redis_server, postgres) -> None:
    with pytest.raises(redis.AuthenticationError):
        redis.Redis(host=redis_server.address, port=redis_server.port).ping()
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(host=postgres.address, port=postgres.port, user=postgres.ROLE,
                        dbname=postgres.DATABASE, password="wrong", connect_timeout=5).close()


def _differences(first: Path, second: Path) -> list[str]:
    """Files present in one tree only, or whose contents differ; the manifest compared
    without its volatile keys."""
    files = {p.relative_to(first) for p in first.rglob("*") if p.is_file()}
    others = {p.relative_to(second) for p in second.rglob("*") if p.is_file()}
    problems = [f"only in one export: {name}" for name in sorted(files ^ others, key=str)]
    for name in sorted(files & others, key=str):
        a, b = (first / name).read_bytes(), (second / name).read_bytes()
        if str(name) == MANIFEST_NAME:
            a, b = (_without_volatile(json.loads(x)) for x in (a, b))
            problems += [f"{name}: {key}" for key in sorted(set(a) | set(b))
                         if a.get(key) != b.get(key)]
        elif a != b:
            problems.append(str(name))
    return problems


def _without_volatile(manifest: dict) -> dict:
    return {k: v for k, v in manifest.items() if k not in VOLATILE_MANIFEST_KEYS}


def _ok(result) -> str:
    assert result.returncode == 0, f"{result.args[-12:]}\n{result.stdout}\n{result.stderr}"
    return result.stdout


def _logs(hosts) -> str:
    return "\n".join(f"--- {h.hostname}\n{h.log.read_text(errors='replace')[-3000:]}"
                     for h in hosts if h.log.exists())
