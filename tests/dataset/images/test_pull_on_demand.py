"""Jobs pull their task images from a real registry on demand, through real workers:
one pull per image per Docker engine however many worker processes wait for it, one digest
per image for the whole run (recorded, exported), and a pull's failure classified: an image
the registry does not have fails its job at once; a registry that is away is retried."""

import json
import time

import pytest
from sqlalchemy import select

from coopbench.dataset.images.local import local_image
from coopbench.dataset.images.pins import run_pins
from coopbench.export.run_export import export_run
from coopbench.job.runner import Services, run_job
from coopbench.job.setting import Setting
from coopbench.ops.localcluster import LocalWorkers
from coopbench.ops.status import run_status
from coopbench.store import EngineImage, JobState, Store
from coopbench.store.engine import host_name
from scheduler.enqueue import enqueue_run
from tests.support.images import PullEvents, push_demo_images, via
from tests.support.polling import wait_until
from tests.support.runs import attempts_of, demo_pairs, jobs_of, run_jobs, run_request, wait_until_finished

pytestmark = pytest.mark.docker

RETRY_ENV = {"COOPBENCH_INFRA_RETRIES": "3", "COOPBENCH_RETRY_BACKOFF_S": "1"}


# PostgreSQL (the suite's default), as many hosts use
def test_a_run_pulls_each_image_once_and_runs_one_digest(settings, demo_images, docker_client,
                                                         registry, tmp_path):
    template, digests = push_demo_images(docker_client, registry, demo_images, "once")
    run = f"pull-{settings.queue[-8:]}"
    request = run_request(run, template, settings=[Setting.coop])
    store = Store(settings.database_url)
    repositories = {name: name.split("/", 1)[1].rsplit(":", 1)[0] for name in digests}
    pushed = {name: registry.manifest_requests(repo, "HEAD") for name, repo in repositories.items()}
    # 2 workers x 2 processes on one engine: up to 4 jobs wait for the same image at once
    with PullEvents(docker_client) as pulls, LocalWorkers(settings, 2, 2,
                                                          tmp_path / "logs") as workers:
        enqueue_run(settings, request)
        wait_until_finished(store, run, workers)

    jobs = run_jobs(store, run)
    assert len(jobs) == 12 and {j.state for j in jobs} == {JobState.done}
    assert sorted(pulls.pulled) == sorted(digests)  # once per image
    time.sleep(0.5)  # the registry logs a request once its response is out
    for name, repo in repositories.items():  # and the registry saw one pull of each
        assert registry.manifest_requests(repo, "HEAD") - pushed[name] == 1  # by tag
    pins = run_pins(store, run)
    assert {name: pin.digest for name, pin in pins.items()} == digests
    with store.session() as session:
        rows = session.scalars(select(EngineImage).where(EngineImage.image.in_(digests))).all()
    assert {(r.image, r.state, r.pulled) for r in rows} == {(n, "present", True) for n in digests}

    manifest = export_run(store, run, tmp_path / "out")
    assert manifest["run"]["images"] == digests
    config = json.loads((tmp_path / "out" / f"{run}-coop" / "config.json").read_text())
    assert config["images"] == digests
    results = list((tmp_path / "out").glob("**/result.json"))
    assert len(results) == 12
    for path in results:
        image = json.loads(path.read_text())["image"]
        assert image["digest"] == digests[image["name"]]
        assert image["id"] == pins[image["name"]].image_id


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # not about the store
def test_an_image_the_registry_lacks_fails_its_job_at_once(settings, demo_images, registry):
    run = f"absent-{settings.queue[-8:]}"
    template = f"{registry.address}/coopbench-absent-{{slug}}:task{{task_id}}"
    enqueue_run(settings, run_request(run, template, demo_pairs("ledger_task"), settings=[Setting.solo]))
    store = Store(settings.database_url)
    job = jobs_of(store, run)["ledger_task"]
    assert run_job(job.id, Services(settings, "test-worker")) == JobState.failed
    job = jobs_of(store, run)["ledger_task"]
    assert "is not in its registry" in job.error and "manifest unknown" in job.error
    assert [(a.state, a.error_class) for a in attempts_of(store, job.id)] == [("failed", "config")]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # not about the store
def test_a_registry_that_is_away_is_retried(settings, demo_images, docker_client, registry,
                                            proxy, tmp_path):
    """Away when the job starts: an infrastructure error with the registry's message, and
    the retry pulls. Away in the middle of a layer: the engine tries the layer again, the
    pull goes on, and `coopbench status` shows which host is pulling what meanwhile."""
    template, digests = push_demo_images(
        docker_client, registry, demo_images, "away",
        dockerfile_tail="RUN head -c 30000000 /dev/urandom > /layer-of-its-own\n")
    run = f"away-{settings.queue[-8:]}"
    store = Store(settings.database_url)
    with LocalWorkers(settings, 1, 1, tmp_path / "logs", extra_env=RETRY_ENV) as workers:
        proxy.cut()
        enqueue_run(settings, run_request(run, via(proxy, registry, template),
                                          demo_pairs("ledger_task"), settings=[Setting.solo]))
        job = jobs_of(store, run)["ledger_task"]
        wait_until(lambda: attempts_of(store, job.id), "the first attempt")
        wait_until(lambda: attempts_of(store, job.id)[0].finished_at, "the first attempt to fail")
        proxy.restore()
        proxy.cut_after(5_000_000)  # the retry's pull loses its connection mid-layer
        pulling = wait_until(lambda: proxy.is_cut and run_status(store, run)["pulls"],
                           "the status to show the pull while the registry is away")
        proxy.restore()  # within the engine's own retry of the layer
        wait_until_finished(store, run, workers)

    (ledger,) = [name for name in digests if "ledger" in name]
    assert [(p["host"], p["image"]) for p in pulling] == [
        (host_name(), via(proxy, registry, ledger))]
    first, second = attempts_of(store, job.id)
    assert (first.state, first.error_class) == ("failed_infra", "infra")
    assert "connection refused" in first.error and proxy.address in first.error
    assert second.state == JobState.done == jobs_of(store, run)["ledger_task"].state
    assert registry.blob_gets(ledger.split("/", 1)[1].rsplit(":", 1)[0]) >= 2  # asked again
    assert local_image(docker_client, via(proxy, registry, ledger)).id == run_pins(
        store, run)[via(proxy, registry, ledger)].image_id

