"""The same bytes on every host, and room on disk, on a real engine and registry (in-process:
the resolver a worker runs before each job).

- A run's pin wins over a tag: once the run has pinned a digest, a host whose tag of the name
  points at other bytes pulls the pinned digest, and runs that; a host that cannot (it never
  pulls) fails the job with an error that names both.
- Low disk (a high ``min_free_disk_gb``): coopbench removes images it pulled that nothing
  needs, least recently used first; never one a queued job needs or a container uses; and
  when still short, the pull fails as an infrastructure error naming the host and the space.
"""


import pytest

from coopbench.config import Settings
from coopbench.dataset.images.local import local_image
from coopbench.dataset.images.pull import PullPolicy
from coopbench.errors import InfraError
from coopbench.job.image import ImageResolver
from coopbench.job.runner import Services, run_job
from coopbench.job.setting import Setting
from coopbench.job.spec import load_job_spec
from coopbench.store import EngineImage, JobState, Run, Store
from scheduler.enqueue import enqueue_run
from tests.support.images import push_demo_images
from tests.support.runs import demo_pairs, jobs_of, run_request

pytestmark = pytest.mark.docker


def enqueue(settings: Settings, name: str, template: str, repo: str,
            pull: str = "missing") -> Run:
    enqueue_run(settings, run_request(name, template, demo_pairs(repo), settings=[Setting.solo],
                                      pull=pull))
    store = Store(settings.database_url)
    return load_job_spec(store, jobs_of(store, name)[repo].id).run


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # not about the store
def test_a_host_runs_the_pinned_digest_whatever_its_tag_says(settings, demo_images,
                                                            docker_client, registry):
    template, digests = push_demo_images(docker_client, registry, demo_images, "pin")
    (name,) = [n for n in digests if "ledger" in n]
    services = Services(settings, "test-worker")
    run = enqueue(settings, f"pin-{settings.queue[-8:]}", template, "ledger_task")
    first = ImageResolver(services).resolve(name, PullPolicy.missing, run)
    assert first.pulled and first.pin.digest == digests[name]

    # This host now has other bytes under the name (a rebuild, a tag moved in the registry).
    docker_client.images.remove(first.image.id, force=True)
    other = docker_client.images.get(demo_images.format(slug="textkit", task_id=1))
    repository, tag = name.rsplit(":", 1)
    other.tag(repository, tag)
    with pytest.raises(InfraError) as never:
        ImageResolver(services).resolve(name, PullPolicy.never, run)
    assert f"has {other.id} for {name}, but this run runs {digests[name]}" in str(never.value)

    again = ImageResolver(services).resolve(name, PullPolicy.missing, run)
    assert again.pulled and again.image.id == first.image.id  # the pinned digest, pulled
    assert local_image(docker_client, name).id == other.id  # the tag left as it was
    job = jobs_of(Store(settings.database_url), run.name)["ledger_task"]
    assert run_job(job.id, services) == JobState.done  # and the job runs the pinned bytes


def test_low_disk_evicts_only_pulled_images_nothing_needs(settings, demo_images, docker_client,
                                                          registry):
    template, digests = push_demo_images(docker_client, registry, demo_images, "disk")
    ledger, textkit = sorted(digests)  # "...-ledger:task0", "...-textkit:task1"
    services = Services(settings, "test-worker")
    suffix = settings.queue[-8:]
    store = Store(settings.database_url)

    done = enqueue(settings, f"done-{suffix}", template, "ledger_task")  # finished: unneeded
    job = jobs_of(store, done.name)["ledger_task"]
    assert run_job(job.id, services) == JobState.done
    queued = enqueue(settings, f"queued-{suffix}", template, "textkit_task")  # still needed
    ImageResolver(services).resolve(textkit, PullPolicy.missing, queued)
    in_use_template, in_use_digests = push_demo_images(docker_client, registry, demo_images,
                                                       "inuse")
    (in_use,) = [n for n in in_use_digests if "ledger" in n]
    used = enqueue(settings, f"used-{suffix}", in_use_template, "ledger_task")
    held = ImageResolver(services).resolve(in_use, PullPolicy.missing, used)
    container = docker_client.containers.run(held.image.id, ["sleep", "60"], detach=True,
                                             entrypoint=[], labels={"coopbench.test": suffix})
    try:
        _, more = push_demo_images(docker_client, registry, demo_images, "more")
        wanted = sorted(more)[0]
        short = Services(settings.model_copy(update={"min_free_disk_gb": 10**6}), "test-worker")
        with pytest.raises(InfraError, match=r"has [\d.]+ GB free, 1e\+06 GB needed") as error:
            ImageResolver(short).resolve(wanted, PullPolicy.missing, None)
        assert services.settings.min_free_disk_gb < 10**6
    finally:
        container.remove(force=True)

    assert "(setting min_free_disk_gb)" in str(error.value)
    assert local_image(docker_client, ledger) is None  # pulled, and nothing needs it: removed
    assert local_image(docker_client, textkit) is not None  # a queued job needs it
    assert local_image(docker_client, in_use) is not None  # a container uses it
    assert local_image(docker_client, wanted) is None  # never pulled: no room
    with store.session() as session:
        states = {row.image: row.state for row in session.query(EngineImage).filter(
            EngineImage.image.in_([ledger, textkit, in_use, wanted]))}
    assert states == {ledger: "removed", textkit: "present", in_use: "present"}
