"""A job whose LLM provider rejects the key mid-run: the job fails as a configuration error
at once (no retry can help), and what the agent had done is kept with the failed attempt."""

import json

from sqlalchemy import select

from coopbench.job.runner import Services, run_job
from coopbench.store import Artifact, Attempt, Job, JobState, Store
from scheduler.enqueue import enqueue_run
from tests.support.fakellm import FakeLLM, bash, http_error
from tests.support.runs import demo_pairs, llm_request

SECRET = "sk-coopbench-runner-" + "0f1e2d3c4b5a6978"


def test_a_rejected_key_mid_run_fails_the_job_and_keeps_the_evidence(
        settings, demo_images, monkeypatch, tmp_path):
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    with FakeLLM({"solo": [bash("echo working > notes.txt && git diff > patch.txt"),
                           http_error(401, "Incorrect API key provided: {api_key}")]}) as llm:
        request = llm_request("llm-401-mid", demo_images, llm.url, demo_pairs("ledger_task"),
                              agent_config={"retry_base_delay_s": 0.01})
        enqueue_run(settings, request)
        store = Store(settings.database_url)
        with store.session() as session:
            job_id = session.scalar(select(Job.id).where(Job.run_name == "llm-401-mid"))
        assert run_job(job_id, Services(settings, "test-worker")) == JobState.failed
        assert len(llm.requests) == 2, "a 401 is not retried"

    with store.session() as session:
        job = session.get(Job, job_id)
        attempt = session.scalars(select(Attempt).where(Attempt.job_id == job_id)).one()
        files = {a.name: a.text for a in session.scalars(
            select(Artifact).where(Artifact.attempt_id == attempt.id))}
    assert job.state == JobState.failed and attempt.error_class == "config"
    assert "openai/fake-model" in job.error and SECRET not in job.error
    trajectory = json.loads(files["solo_traj.json"])
    assert any("echo working" in json.dumps(m) for m in trajectory)  # the step it did is kept
    assert all(SECRET not in text for text in files.values())
    assert job.agents_attempt_id is None  # nothing to evaluate: a retry runs the agents
