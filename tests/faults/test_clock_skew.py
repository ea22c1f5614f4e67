"""Hosts whose clocks disagree by minutes: leases, heartbeats and due times are the
database's, so a skewed worker neither takes a live job over nor waits out a dead one.

Two real workers run under ``faketime`` (Debian's libfaketime, preloaded into the worker
and its pool processes): one ten minutes ahead, one ten minutes behind. Had leases been
stamped with the hosts' clocks, the job of the worker ahead would look live for ten minutes
after that worker died, and the job of the worker behind would look expired the moment it
was claimed, for the other worker (and the sweeper) to take over while it still ran.
"""

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from coopbench.job.setting import Setting
from coopbench.ops.localcluster import LocalWorkers
from coopbench.store import Attempt, Job, Store
from coopbench.store.claims import WORKER_LOST
from scheduler.enqueue import enqueue_run
from tests.conftest import COOPBENCH
from tests.faults.conftest import cli_env, ledger_request
from tests.support.containers import wait_run_containers_removed

pytestmark = pytest.mark.docker

SKEW_MIN = 10
DEADLINE_S = 150
# Lease, backoff, a sweep, a worker's start and the job itself: well under the skew.
RESCUE_BOUND_S = 90
LIBFAKETIME = Path("/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1")


def skewed(minutes: int) -> dict[str, str]:
    """A worker's environment that moves its wall clock by ``minutes`` (monotonic untouched,
    so its timers and timeouts still run at the real pace)."""
    return {"LD_PRELOAD": str(LIBFAKETIME), "FAKETIME": f"{minutes:+d}m",
            "FAKETIME_DONT_FAKE_MONOTONIC": "1", "FAKETIME_NO_CACHE": "1"}


@pytest.mark.skipif(not LIBFAKETIME.exists() or shutil.which("faketime") is None,
                    reason="needs Debian's faketime (scripts/setup.sh installs it)")
def test_workers_minutes_apart_agree_on_leases(fault_settings, queue, slow_images,
                                               docker_client, tmp_path):
    settings = fault_settings
    run = f"skew-{queue[-8:]}"
    request = ledger_request(run, slow_images, [(1, 3), (2, 4)], [Setting.solo])
    first_id, second_id = (job.job_id for job in request.jobs())
    store = Store(settings.database_url)
    ahead = LocalWorkers(settings, 1, 1, tmp_path / "ahead", "ahead", skewed(+SKEW_MIN))
    behind = LocalWorkers(settings, 1, 1, tmp_path / "behind", "behind", skewed(-SKEW_MIN))
    sweeper = None
    try:
        ahead.start()
        enqueue_run(settings, request)
        deadline = time.monotonic() + DEADLINE_S
        while (running := _running(store, run)) is None:  # one job under the worker ahead
            assert time.monotonic() < deadline and ahead.alive(), "no job started"
            time.sleep(0.1)
        assert _clock_of(ahead) > time.time() + (SKEW_MIN - 1) * 60  # it is skewed indeed
        time.sleep(settings.lease_s)  # a heartbeat or more from the skewed worker
        os.killpg(ahead.processes[0].pid, signal.SIGKILL)
        ahead.processes[0].wait()
        killed_at = time.monotonic()

        ahead_again = LocalWorkers(settings, 1, 1, tmp_path / "ahead2", "ahead2", skewed(+SKEW_MIN))
        behind.start()
        ahead_again.start()
        sweeper = subprocess.Popen([COOPBENCH, "sweep", "--interval", "1"], env=cli_env(settings),
                                   cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   text=True)
        while not all(_job(store, j).state == "done" for j in (first_id, second_id)):
            assert time.monotonic() < deadline, [_job(store, j).state for j in (first_id, second_id)]
            time.sleep(0.2)
        rescued_in_s = time.monotonic() - killed_at
    finally:
        if sweeper is not None:
            sweeper.send_signal(signal.SIGTERM)
            sweeper.communicate(timeout=30)
        for workers in (behind, ahead, locals().get("ahead_again")):
            if workers is not None:
                workers.stop()

    attempts = {job_id: _attempts(store, job_id) for job_id in (first_id, second_id)}
    other = second_id if running == first_id else first_id
    # The dead worker's job: taken over in seconds (not the ten minutes its clock was ahead).
    assert [(a.state, a.error) for a in attempts[running]][0] == ("failed_infra", WORKER_LOST)
    assert [a.state for a in attempts[running]] == ["failed_infra", "done"]
    assert rescued_in_s < RESCUE_BOUND_S, rescued_in_s
    # The other job ran once: no worker, whatever its clock, took a live lease over.
    assert [a.state for a in attempts[other]] == ["done"], attempts[other]
    wait_run_containers_removed(docker_client, run)


def _clock_of(workers: LocalWorkers) -> float:
    """The wall clock as the worker's processes see it: ``date`` under its environment."""
    env = {**os.environ, **workers.extra_env}
    return float(subprocess.run(["date", "+%s"], env=env, capture_output=True, text=True,
                                check=True).stdout)


def _running(store: Store, run: str) -> str | None:
    with store.session() as session:
        return session.scalars(select(Job.id).where(Job.run_name == run,
                                                    Job.state == "running")).first()


def _job(store: Store, job_id: str) -> Job:
    with store.session() as session:
        return session.get(Job, job_id)


def _attempts(store: Store, job_id: str) -> list[Attempt]:
    with store.session() as session:
        return session.scalars(select(Attempt).where(Attempt.job_id == job_id)
                               .order_by(Attempt.number)).all()

