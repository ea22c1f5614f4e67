"""Shared fixtures: real services only. SQLite files, fresh PostgreSQL databases, a Redis
database and queue per test, the Docker engine and the demo task images."""

import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import docker
import psycopg
import pytest
import redis

from coopbench.config import Settings
from coopbench.dataset.images import image_name
from coopbench.dataset.images.build import build_task_image
from coopbench.dataset.tasks import demo_dataset_path, load_tasks
from coopbench.store import Store
from tests.compose import images as compose_images_module
from tests.evaluation import differential as differential_module
from tests.support.broker import clear_queue
from tests.support.env import settings_env
from tests.support.real_task import build_real_task_image
from tests.support.registry import CuttableProxy, LocalRegistry

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

TESTS_DIR = Path(__file__).resolve().parent
REPO_ROOT = TESTS_DIR.parent
FIXTURES = REPO_ROOT.parent / "shared" / "fixtures" / "cooperbench"
PG_ADMIN_URL = os.environ.get("COOPBENCH_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("COOPBENCH_TEST_REDIS", "redis://127.0.0.1:6379/9")
BASE_IMAGE = os.environ.get("COOPBENCH_BASE_IMAGE", "coopbench/base:bookworm")
DEMO_IMAGE_TEMPLATE = "coopbench-test-{slug}:task{task_id}"


WORKER_LOG_TAIL = 40  # lines of each worker's log shown under a failed test
DIFFERENTIAL_SELECTED = pytest.StashKey[bool]()
COMPOSE_BUILD_SELECTED = pytest.StashKey[bool]()
DATABASES = ["sqlite", "postgresql"]

# The slow tier: whatever needs Docker or starts worker or CLI processes. The fast tier
# (`pytest -m "not slow"`) is the rest: the store, the bus, the exporter, the filters.
SLOW_FIXTURES = {"docker_client", "demo_images", "real_task_image", "cli"}
SLOW_FOLDERS = {"integration", "faults", "multihost", "compose"}


def pytest_generate_tests(metafunc):
    """Which databases a test of the store runs on: both where the database is what it tests
    (tests/store, and tests marked ``both_databases``), else PostgreSQL, as many hosts use.
    A test that parametrizes ``database_url`` itself keeps its choice."""
    if "database_url" not in metafunc.fixturenames or any(
            "database_url" in _argnames(marker) for marker in metafunc.definition.iter_markers("parametrize")):
        return
    both = (metafunc.definition.get_closest_marker("both_databases") is not None
            or metafunc.definition.path.resolve().is_relative_to(TESTS_DIR / "store"))
    metafunc.parametrize("database_url", DATABASES if both else ["postgresql"], indirect=True)


def _argnames(parametrize: pytest.Mark) -> list[str]:
    names = parametrize.args[0] if parametrize.args else parametrize.kwargs.get("argnames", ())
    return [n.strip() for n in names.split(",")] if isinstance(names, str) else list(names)


def pytest_collection_modifyitems(config, items):
    for item in items:
        if (SLOW_FIXTURES & set(item.fixturenames) or item.get_closest_marker("docker")
                or item.path.parent.name in SLOW_FOLDERS):
            item.add_marker(pytest.mark.slow)
    # Two slow preparations start with the session and run beside everything else; the
    # tests that need them go last: the compose stack's images (tests/compose/images.py),
    # then the differential test's scoring (tests/evaluation/differential.py).
    compose = [item for item in items if item.path.name == compose_images_module.MODULE]
    differential = [item for item in items if item.path.name == differential_module.MODULE]
    items[:] = [item for item in items if item not in compose and item not in differential]
    items += compose + differential
    config.stash[COMPOSE_BUILD_SELECTED] = any("compose_images" in item.fixturenames
                                               for item in compose)
    config.stash[DIFFERENTIAL_SELECTED] = bool(differential)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed test that ran workers under its tmp_path shows the end of their logs, so a
    failure seen only in CI can be read from CI's output."""
    outcome = yield
    report = outcome.get_result()
    tmp_path = getattr(item, "funcargs", {}).get("tmp_path")
    if report.when != "call" or not report.failed or tmp_path is None:
        return
    for log_file in sorted(Path(tmp_path).rglob("worker-*.log")):
        lines = [line for line in log_file.read_text(errors="replace").splitlines()
                 if line.strip() and "LiteLLM" not in line]  # litellm's per-call chatter
        report.sections.append((f"{log_file.relative_to(tmp_path)} (last lines)",
                                "\n".join(lines[-WORKER_LOG_TAIL:])))


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    assert FIXTURES.is_dir(), f"shared fixtures not found at {FIXTURES}"
    return FIXTURES


def _sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'store.db'}"


@pytest.fixture
def pg_url():
    """A fresh PostgreSQL database, dropped afterwards."""
    name = f"coopbench_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def database_url(request, tmp_path):
    """The test's store: a SQLite file or a fresh PostgreSQL database, as
    ``pytest_generate_tests`` (or the test's own ``parametrize(..., indirect=True)``) says."""
    if getattr(request, "param", "postgresql") == "sqlite":
        return _sqlite_url(tmp_path)
    return request.getfixturevalue("pg_url")


@pytest.fixture
def store(database_url) -> Store:
    store = Store(database_url)
    store.upgrade()
    yield store
    store.dispose()


@pytest.fixture
def redis_client():
    client = redis.Redis.from_url(REDIS_URL)
    client.ping()
    return client


@pytest.fixture
def settings(database_url) -> Settings:
    """Settings pointing at this test's store, the test Redis and a queue of its own."""
    return Settings(
        database_url=database_url, broker_url=REDIS_URL,
        queue=f"coopbench-test-{uuid.uuid4().hex[:8]}", lease_s=30, retry_poll_s=1,
    )


@pytest.fixture(scope="session")
def docker_client():
    client = docker.from_env()
    client.ping()
    return client


@pytest.fixture(scope="session")
def demo_images(docker_client) -> str:
    """Build the demo task images once; returns their name template."""
    for task in load_tasks(demo_dataset_path()):
        build_task_image(docker_client, task,
                         image_name(DEMO_IMAGE_TEMPLATE, task.repo, task.task_id), BASE_IMAGE)
    return DEMO_IMAGE_TEMPLATE


@pytest.fixture(scope="session")
def real_task_image(docker_client, fixtures_dir) -> str:
    """The real dirty-equals task 43 image (tests/support/real_task.py), built once per machine."""
    return build_real_task_image(docker_client, fixtures_dir, BASE_IMAGE)


@pytest.fixture
def registry(tmp_path):
    """A Docker registry of the test's own on 127.0.0.1 (tests/support/registry.py)."""
    with LocalRegistry(tmp_path / "registry").start() as running:
        yield running


@pytest.fixture
def proxy(registry):
    """A proxy in front of ``registry`` that can cut its connections."""
    with CuttableProxy(registry.address).start() as running:
        yield running


@pytest.fixture(scope="session", autouse=True)
def differential(request, tmp_path_factory):
    """The differential test's scoring, started at the session's first test when that test
    was collected (else None)."""
    if not request.config.stash.get(DIFFERENTIAL_SELECTED, False):
        yield None
        return
    scorer = differential_module.Differential(
        request.getfixturevalue("docker_client"), FIXTURES,
        request.getfixturevalue("real_task_image"), tmp_path_factory.mktemp("differential"))
    scorer.start()
    yield scorer
    scorer.stop()


@pytest.fixture(scope="session", autouse=True)
def compose_build(request, tmp_path_factory):
    """The compose stack's images, building from the session's first test when a test that
    needs them was collected (else None)."""
    if not request.config.stash.get(COMPOSE_BUILD_SELECTED, False):
        yield None
        return
    build = compose_images_module.BackgroundBuild(
        tmp_path_factory.mktemp("compose-images") / "build.log")
    build.start()
    yield build
    build.stop()


# The venv's own entry point first: another coopbench on PATH would test other code.
COOPBENCH = (shutil.which("coopbench", path=str(Path(sys.executable).parent))
             or shutil.which("coopbench") or "/work/main/.venv/bin/coopbench")


@pytest.fixture
def queue(settings, redis_client):
    """The test's own queue; its lists (one per priority band) and kombu's binding keys are
    removed afterwards."""
    yield settings.queue
    clear_queue(redis_client, settings.queue)
    redis_client.delete(f"_kombu.binding.{settings.queue}",
                        f"_kombu.binding_permanent.{settings.queue}")


@pytest.fixture
def cli(settings, queue, tmp_path):
    """Run the installed ``coopbench`` in a clean environment pointed at this test's services."""
    env = settings_env(settings)

    def run(*args: str, timeout: float = 120, **env_overrides: str):
        return subprocess.run(
            [COOPBENCH, *args], env={**env, **env_overrides}, cwd=tmp_path,
            capture_output=True, text=True, timeout=timeout,
        )

    return run
