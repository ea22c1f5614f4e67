"""Evaluation as its own stage: ``coopbench evaluate`` re-evaluates a run on real workers
without running any agent again, and a job whose agents finished never re-runs them."""

import json

import pytest
from sqlalchemy import func, select, update

from coopbench.config import Settings
from coopbench.dataset.tasks import demo_dataset_path, discover_pairs
from coopbench.export.run_export import export_run
from coopbench.job.runner import Services, run_job
from coopbench.job.setting import Setting
from coopbench.ops.localcluster import LocalWorkers
from coopbench.store import AgentRun, Attempt, Evaluation, Job, JobState, Store
from scheduler.enqueue import enqueue_run
from scheduler.evaluate import request_evaluations
from tests.support.containers import run_containers
from tests.support.polling import wait_until
from tests.support.runs import RUN_TIMEOUT_S, expected_outcome, run_request, wait_until_finished
from workers.publish import Publisher

PAIRS = [(1, 2), (1, 3), (3, 4)]  # ledger: a conflict, a clean merge, another conflict


def ledger_pairs():
    return [p for p in discover_pairs(demo_dataset_path())
            if p.repo == "ledger_task" and p.features in PAIRS]


def wait_for_evaluations(store: Store, run: str, workers: LocalWorkers) -> None:
    def finished() -> bool:
        with store.session() as session:
            return session.scalar(
                select(func.count()).select_from(Evaluation).join(Job, Job.id == Evaluation.job_id)
                .where(Job.run_name == run, Evaluation.state.in_(["queued", "running"]))) == 0

    wait_until(finished, f"the evaluations of run {run}", RUN_TIMEOUT_S, 0.5, workers.alive)


def counts(store: Store, run: str) -> dict:
    with store.session() as session:
        def count(model, *where):
            return session.scalar(select(func.count()).select_from(model).where(*where))
        return {
            "attempts": count(Attempt, Attempt.job_id.in_(select(Job.id).where(Job.run_name == run))),
            "agent_runs": count(AgentRun, AgentRun.attempt_id.in_(
                select(Attempt.id).join(Job).where(Job.run_name == run))),
            "evaluations": count(Evaluation, Evaluation.job_id.in_(
                select(Job.id).where(Job.run_name == run))),
        }


# Claims of evaluations are fenced alike on both databases (tests/store); the command and
# its workers are tested on one, PostgreSQL.
def test_evaluate_command_reevaluates_on_workers_without_running_agents(
        settings, demo_images, docker_client, tmp_path):
    run = f"reeval-{settings.queue[-8:]}"
    store = Store(settings.database_url)
    request = run_request(run, demo_images, ledger_pairs(), settings=[Setting.solo, Setting.coop])
    with LocalWorkers(settings, count=2, concurrency=2, log_dir=tmp_path / "logs") as workers:
        enqueue_run(settings, request)
        wait_until_finished(store, run, workers)
        before = counts(store, run)
        assert before == {"attempts": 6, "agent_runs": 9, "evaluations": 6}

        # The run was evaluated with its filter (upstream's): another filter re-evaluates all.
        assert request_evaluations(settings, run, "upstream").up_to_date == 6
        report = request_evaluations(settings, run, "extended")
        assert (report.requested, report.published, report.up_to_date) == (6, 6, 0)
        # Every message delivered twice more: each evaluation still runs once.
        with store.session() as session:
            queued = session.execute(select(Evaluation.id, Evaluation.job_id, Evaluation.number)
                                     .where(Evaluation.state == "queued")).all()
        Publisher(settings).publish_evaluations([(f"{j}-e{n}", e) for e, j, n in queued] * 2)
        wait_for_evaluations(store, run, workers)

        again = request_evaluations(settings, run, "extended")
        assert (again.requested, again.up_to_date) == (0, 6)  # nothing to do without --force
        forced = request_evaluations(settings, run, "extended", force=True)
        assert forced.requested == 6
        wait_for_evaluations(store, run, workers)

    assert counts(store, run) == {"attempts": 6, "agent_runs": 9, "evaluations": 18}
    with store.session() as session:
        jobs = session.scalars(select(Job).where(Job.run_name == run)).all()
        evaluations = session.scalars(select(Evaluation).join(Job, Job.id == Evaluation.job_id)
                                      .where(Job.run_name == run)).all()
    assert {e.state for e in evaluations} == {"done"}
    assert all(e.fencing_token == 1 for e in evaluations if e.number > 1), "claimed once each"
    latest = {e.job_id: e for e in evaluations if e.number == 3}
    for job in jobs:
        assert job.state == JobState.done and job.evaluation_id == latest[job.id].id
        assert latest[job.id].test_filter == "extended" and latest[job.id].duration_s > 0
    assert run_containers(docker_client, run) == []

    out = tmp_path / "export"
    manifest = export_run(store, run, out)
    for entry in manifest["jobs"]:
        assert entry["evaluation"]["number"] == 3 and entry["evaluation"]["test_filter"] == "extended"
        evaluation = json.loads((out / entry["dir"] / "eval.json").read_text())
        assert evaluation["test_filter"] == "extended"
        assert [d["option"] for d in evaluation["deviations"]] == ["test_filter"]
        merge = evaluation["merge"]
        outcome = (merge and merge["status"], evaluation["feature1"]["passed"],
                   evaluation["feature2"]["passed"])
        key = (entry["repo"], entry["task_id"], tuple(entry["features"]))
        assert outcome == expected_outcome(entry["setting"], key)


def test_a_job_whose_agents_finished_is_only_evaluated_when_run_again(settings, demo_images):
    run = f"stage-{settings.queue[-8:]}"
    store = Store(settings.database_url)
    request = run_request(run, demo_images, ledger_pairs()[:1], settings=[Setting.coop])
    enqueue_run(settings, request)
    with store.session() as session:
        job_id = session.scalar(select(Job.id).where(Job.run_name == run))
    services = Services(settings, worker_name="test-worker")
    assert run_job(job_id, services) == JobState.done
    # As a retry after a failed evaluation would leave it: queued, agents' outcome kept.
    with store.session() as session, session.begin():
        session.execute(update(Job).where(Job.id == job_id).values(state=JobState.queued))
    assert run_job(job_id, services) == JobState.done

    with store.session() as session:
        job = session.get(Job, job_id)
        attempts = session.scalars(select(Attempt).where(Attempt.job_id == job_id)
                                   .order_by(Attempt.number)).all()
        runs = session.scalars(select(AgentRun).where(
            AgentRun.attempt_id.in_([a.id for a in attempts]))).all()
        evaluations = session.scalars(select(Evaluation).where(Evaluation.job_id == job_id)
                                      .order_by(Evaluation.number)).all()
    assert [a.state for a in attempts] == ["done", "done"]
    assert {r.attempt_id for r in runs} == {attempts[0].id} and len(runs) == 2  # agents ran once
    assert job.agents_attempt_id == attempts[0].id
    assert [e.attempt_id for e in evaluations] == [attempts[0].id] * 2
    assert job.evaluation_id == evaluations[1].id and job.merge_status == "conflicts"


def test_evaluate_refuses_an_unknown_run(settings, queue):
    from coopbench.errors import ConfigError

    Store(settings.database_url).upgrade()
    with pytest.raises(ConfigError, match="run 'nope' is not in the store"):
        request_evaluations(Settings(**{**settings.model_dump(), "queue": queue}), "nope")
