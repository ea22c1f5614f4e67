"""The one failure path: every exception of a job becomes one stored state."""

import docker
import pytest
import redis
import sqlalchemy.exc
from sqlalchemy import select

from coopbench.agents import AGENTS
from coopbench.agents.base import AgentResult
from coopbench.errors import BusUnavailable, ConfigError, LeaseLost, SandboxError, raised_in_coopbench
from coopbench.job.failures import FailureKind, classify
from coopbench.job.runner import Services, run_job
from coopbench.job.setting import Setting
from coopbench.store import AgentRun, Attempt, Job, JobState, Store
from coopbench.store.states import ErrorClass
from scheduler.enqueue import enqueue_run
from tests.support.runs import demo_pairs, run_request

SECRET = "sk-coopbench-failures-" + "5a4b3c2d1e0f"


class TimeLimit(Exception):
    """Stands for what a worker's runtime raises into a job (Celery's soft time limit)."""


def _raised(error: BaseException) -> BaseException:
    try:
        raise error
    except BaseException as caught:
        return caught


@pytest.mark.parametrize("error, kind, error_class, reraise", [
    (LeaseLost("taken over"), FailureKind.lease_lost, ErrorClass.infra, False),
    (ConfigError("no such image"), FailureKind.config, ErrorClass.config, False),
    (BusUnavailable("redis away"), FailureKind.infra, ErrorClass.infra, False),
    (SandboxError("engine away"), FailureKind.infra, ErrorClass.infra, False),
    (docker.errors.APIError("500 from the engine"), FailureKind.infra, ErrorClass.infra, False),
    (sqlalchemy.exc.OperationalError("SELECT 1", {}, Exception("server closed the connection")),
     FailureKind.infra, ErrorClass.infra, False),
    (redis.exceptions.ConnectionError("Connection refused"), FailureKind.infra, ErrorClass.infra, False),
    (ConnectionResetError(104, "reset by peer"), FailureKind.infra, ErrorClass.infra, False),
    (TimeLimit("soft time limit"), FailureKind.infra, ErrorClass.infra, True),
    (KeyboardInterrupt(), FailureKind.infra, ErrorClass.infra, True),
    (KeyError("a bug"), FailureKind.bug, ErrorClass.bug, True),
])
def test_every_exception_has_one_kind(error, kind, error_class, reraise):
    failure = classify(_raised(error), interruptions=(TimeLimit,))
    assert (failure.kind, failure.error_class, failure.reraise) == (kind, error_class, reraise)
    assert (failure.traceback is not None) == (kind is FailureKind.bug)


def test_a_bugs_traceback_is_kept_and_redacted(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    failure = classify(_raised(RuntimeError(f"bad state with {SECRET}")))
    assert failure.kind is FailureKind.bug
    assert "Traceback" in failure.stored_error and "_raised" in failure.stored_error
    assert SECRET not in failure.stored_error and SECRET not in failure.message


def test_raised_in_coopbench_tells_our_frames_from_a_librarys():
    assert raised_in_coopbench(_raised_by_coopbench())
    assert not raised_in_coopbench(_raised(ValueError("from a test, not the package")))


def _raised_by_coopbench() -> BaseException:
    try:
        Setting("no-such-setting")  # StrEnum raises ValueError from the enum module...
    except ValueError:
        pass
    try:
        from coopbench.job.setting import setting_row

        setting_row("no-such-setting")  # ...and setting_row re-raises as ours
    except ConfigError as error:
        return error
    raise AssertionError("setting_row accepted an unknown setting")


class BuggyAgent:
    """An agent whose code has a bug: it raises instead of returning its outcome."""

    name = "buggy"

    def run(self, task, sandbox) -> AgentResult:
        raise KeyError("coopbench bug: no such key")


def test_a_bug_fails_the_job_with_its_traceback_and_is_not_the_agents_error(
        settings, demo_images, monkeypatch):
    monkeypatch.setitem(AGENTS, "buggy", BuggyAgent)
    enqueue_run(settings, run_request("buggy-agent", demo_images, demo_pairs("ledger_task"),
                                      settings=[Setting.coop], agent="buggy", step_limit=10))
    store = Store.open(settings)
    with store.session() as session:
        job_id = session.scalar(select(Job.id).where(Job.run_name == "buggy-agent"))

    with pytest.raises(KeyError):  # re-raised: the worker (and Flower) see the bug too
        run_job(job_id, Services(settings, "test-worker"))

    with store.session() as session:
        job = session.get(Job, job_id)
        attempts = session.scalars(select(Attempt).where(Attempt.job_id == job_id)).all()
        agent_runs = session.scalars(select(AgentRun).join(Attempt)
                                     .where(Attempt.job_id == job_id)).all()
    assert job.state == JobState.failed and job.attempts == 1, "a bug is not retried"
    assert [(a.state, a.error_class) for a in attempts] == [("failed", "bug")]
    assert "KeyError" in attempts[0].error and "Traceback" in attempts[0].error
    assert 'raise KeyError("coopbench bug: no such key")' in attempts[0].error  # where it was raised
    assert "in run_agents" in attempts[0].error  # and the job's frames above it
    assert agent_runs == [], "no agent outcome is recorded for a bug of ours"
