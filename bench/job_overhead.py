"""What coopbench adds to a job around its agents and its tests, against the floor of one
bare container lifecycle measured in the same run.

    .venv/bin/python bench/job_overhead.py [--jobs 10] [--image-template T]

Jobs of the oracle agent (it applies the gold patches) on the demo's task images, solo and
coop, run one at a time through the real path: ``coopbench.job.runner.run_job`` with real
``Services``, a fresh PostgreSQL store, Redis and Docker. The bench wraps the runner's
stages in-process to record when each starts and ends; nothing else changes.

- **Job**: from the start of ``claim_job`` to the end of ``record_job_evaluated`` (the
  commit of the evaluated result).
- **Overhead**: the job minus the agents' own time (the wall of the ``agent.run`` calls,
  which run side by side) and minus the tests' own time (the evaluation's ``runner.sh``
  commands). Each instant of the job is given to one stage (the agents and the tests
  first), so the breakdown adds up to the job.
- **Floor**: ``create`` + ``start`` + ``exec`` of ``true`` + ``remove`` of one container
  from the same image, with docker-py, interleaved with the jobs (floor, solo job, floor,
  coop job, ...), so both see the same load.
- Not in the job: what runs after the commit until ``run_job`` returns (the wait for the
  containers removed in the background), printed on its own row.

Target: overhead <= 1.25 x floor + 50 ms. Prints medians per setting, per stage.
"""

import argparse
import contextlib
import os
import statistics
import sys
import time
import uuid
from collections import defaultdict

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import docker
import redis
from throwaway_database import fresh_database  # bench/ is the script's folder, on sys.path

import coopbench.evaluation.backend as backend
import coopbench.job.eval_stage as eval_stage
import coopbench.job.runner as runner
from coopbench.agents.oracle import OracleAgent
from coopbench.config import Settings
from coopbench.dataset.images import image_name
from coopbench.dataset.images.build import build_task_image
from coopbench.dataset.tasks import demo_dataset_path, discover_pairs, load_tasks
from coopbench.job.services import Services
from coopbench.job.setting import Setting
from coopbench.store import Store
from scheduler.broker_contents import KombuRedisLayout
from scheduler.enqueue import RunRequest, enqueue_run

REDIS_URL = "redis://127.0.0.1:6379/13"
BASE_IMAGE = os.environ.get("COOPBENCH_BASE_IMAGE", "coopbench/base:bookworm")
SETTINGS = (Setting.solo, Setting.coop)
AGENTS, TESTS, GLUE = "agents (agent.run)", "tests (runner.sh)", "other (glue between stages)"
AFTER = "after the commit, until run_job returns"
# When stages overlap (coop's agents side by side), an instant goes to the first listed.
STAGES = [AGENTS, TESTS, "claim", "load spec", "image check", "agent container create+start",
          "agent container remove", "record agents", "start evaluation", "read patches",
          "eval container create+start", "eval procedure execs", "eval container remove",
          "commit (record_job_evaluated)"]


class Timeline:
    """The stages of the job under way: (stage, start, end), perf_counter seconds."""

    def __init__(self):
        self.spans: list[tuple[str, float, float]] = []
        self.returned = 0.0  # when run_job returned

    def add(self, stage: str, started: float) -> None:
        self.spans.append((stage, started, time.perf_counter()))

    def breakdown(self) -> dict[str, float]:
        """Seconds per stage from the claim's start to the commit's end, each instant
        counted once (``STAGES`` order decides overlaps); the rest is glue."""
        start = min(s for name, s, _ in self.spans if name == "claim")
        end = max(e for name, _, e in self.spans if name == STAGES[-1])
        cuts = sorted({start, end, *(t for _, s, e in self.spans for t in (s, e)
                                     if start <= t <= end)})
        seconds: dict[str, float] = defaultdict(float)
        for left, right in zip(cuts, cuts[1:]):
            active = {name for name, s, e in self.spans if s <= left and e >= right}
            stage = next((name for name in STAGES if name in active), GLUE)
            seconds[stage] += right - left
        seconds["job"] = end - start
        seconds["overhead"] = end - start - seconds[AGENTS] - seconds[TESTS]
        seconds[AFTER] = self.returned - end
        return dict(seconds)


TIMELINE = Timeline()


def timed_call(function, stage: str):
    def wrapper(*args, **kwargs):
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            TIMELINE.add(stage, started)
    return wrapper


def timed_box(open_sandbox, started_stage: str, removed_stage: str):
    """``open_sandbox``, with the time to the container's start and the time its exit
    takes on the caller's thread."""
    @contextlib.contextmanager
    def wrapper(*args, **kwargs):
        started = time.perf_counter()
        with contextlib.ExitStack() as stack:
            box = stack.enter_context(open_sandbox(*args, **kwargs))
            TIMELINE.add(started_stage, started)
            try:
                yield box
            finally:
                leaving = time.perf_counter()
                stack.close()
                TIMELINE.add(removed_stage, leaving)
    return wrapper


def timed_eval_exec(exec_):
    def wrapper(self, *args):
        stage = TESTS if "runner.sh" in " ".join(args) else "eval procedure execs"
        return timed_call(exec_, stage)(self, *args)
    return wrapper


def instrument() -> None:
    """Wrap the runner's stages (the names it imported) to record their times."""
    for name, stage in [("claim_job", "claim"), ("load_job_spec", "load spec"),
                        ("with_job_image", "image check"), ("_record_agents", "record agents"),
                        ("start_evaluation", "start evaluation"),
                        ("stored_patches", "read patches"),
                        ("record_job_evaluated", STAGES[-1])]:
        setattr(runner, name, timed_call(getattr(runner, name), stage))
    runner.open_sandbox = timed_box(runner.open_sandbox, "agent container create+start",
                                    "agent container remove")
    backend.open_sandbox = timed_box(backend.open_sandbox, "eval container create+start",
                                     "eval container remove")
    # The evaluation's container started ahead, while the agents work (a thread of its own).
    eval_stage.open_sandbox = timed_box(eval_stage.open_sandbox, "eval container create+start",
                                        "eval container remove")
    backend.EvalSandbox.exec = timed_eval_exec(backend.EvalSandbox.exec)
    OracleAgent.run = timed_call(OracleAgent.run, AGENTS)


FLOOR_PARTS = defaultdict(list)  # create, start, exec, remove: seconds of each floor


def floor_s(client: docker.DockerClient, image: str) -> float:
    """One bare container lifecycle: create, start, exec a trivial command, remove."""
    marks = [time.perf_counter()]
    container = client.containers.create(image, entrypoint=["sleep", "infinity"], command=[])
    marks.append(time.perf_counter())
    container.start()
    marks.append(time.perf_counter())
    container.exec_run(["true"])
    marks.append(time.perf_counter())
    container.remove(force=True)
    marks.append(time.perf_counter())
    for part, left, right in zip(("create", "start", "exec", "remove"), marks, marks[1:]):
        FLOOR_PARTS[part].append(right - left)
    return marks[-1] - marks[0]


def ensure_images(client: docker.DockerClient, template: str) -> None:
    for task in load_tasks(demo_dataset_path()):
        name = image_name(template, task.repo, task.task_id)
        try:
            client.images.get(name)
        except docker.errors.ImageNotFound:
            print(f"building {name}", file=sys.stderr)
            build_task_image(client, task, name, BASE_IMAGE)


def enqueue(settings: Settings, run: str, template: str, pairs: list) -> list[tuple[str, str, str]]:
    """The run's jobs as (setting, image, job id), pair-major: solo and coop alternate."""
    dataset = demo_dataset_path()
    request = RunRequest(
        name=run, dataset=str(dataset), pairs=pairs,
        tasks={(t.repo, t.task_id): t for t in load_tasks(dataset)}, settings=list(SETTINGS),
        agent="oracle", model=None, step_limit=1, cost_limit_usd=0.0,
        image_template=template, pull="never")
    enqueue_run(settings, request)
    return [(str(setting), image_name(template, pair.repo, pair.task_id), job_id)
            for pair, setting, job_id, _ in request.jobs()]


def measure(services: Services, jobs: list, client: docker.DockerClient) -> tuple[list, dict]:
    """Floor, job, floor, job, ...: the floors, and each setting's jobs' breakdowns."""
    floors, results = [], defaultdict(list)
    for setting, image, job_id in jobs:
        floors.append(floor_s(client, image))
        TIMELINE.spans.clear()
        state = runner.run_job(job_id, services)
        TIMELINE.returned = time.perf_counter()
        if state != "done":
            raise SystemExit(f"job {job_id} ({setting}) ended {state}")
        results[setting].append(TIMELINE.breakdown())
    return floors, results


def report(floors: list[float], results: dict[str, list[dict]]) -> None:
    floor = statistics.median(floors)
    target = 1.25 * floor + 0.050
    print(f"floor (create+start+exec+remove), median of {len(floors)}: {floor * 1000:.0f} ms;"
          f" target: overhead <= {target * 1000:.0f} ms")
    print("  its parts: " + ", ".join(f"{part} {statistics.median(seconds) * 1000:.0f} ms"
                                      for part, seconds in FLOOR_PARTS.items()))
    settings = list(results)
    print(f"{'median ms':40}" + "".join(f"{s:>10}" for s in settings))
    rows = ["job", AGENTS, TESTS, "overhead", *STAGES[2:], GLUE, AFTER]
    for row in rows:
        values = [statistics.median(r.get(row, 0.0) for r in results[s]) for s in settings]
        print(f"{row:40}" + "".join(f"{v * 1000:10.0f}" for v in values))
    for setting in settings:
        overhead = statistics.median(r["overhead"] for r in results[setting])
        verdict = "met" if overhead <= target else "not met"
        print(f"{setting}: overhead {overhead * 1000:.0f} ms = {overhead / floor:.2f} x floor "
              f"({len(results[setting])} jobs); target {verdict}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=10, help="jobs per setting (at most 12)")
    parser.add_argument("--image-template", default="coopbench-demo-{slug}:task{task_id}")
    parser.add_argument("--without-ahead", action="store_true",
                        help="start the evaluation's container after the agents, as before "
                             "(for a comparison in the same conditions)")
    args = parser.parse_args()
    if args.without_ahead:
        runner.eval_container_ahead = lambda spec, attempt, services: None
    client = docker.from_env()
    ensure_images(client, args.image_template)
    database_url, drop = fresh_database("postgresql")
    queue = f"bench-overhead-{uuid.uuid4().hex[:6]}"
    settings = Settings(database_url=database_url, broker_url=REDIS_URL, queue=queue)
    Store(database_url).upgrade()
    services = Services(settings, "bench-worker")
    instrument()
    try:
        pairs = discover_pairs(demo_dataset_path())
        # Warm-up, not counted: imports upstream's package, pins the images, fills pools.
        measure(services, enqueue(settings, "warmup", args.image_template, pairs[:1]), client)
        FLOOR_PARTS.clear()
        pairs = (pairs[::6] + [p for i, p in enumerate(pairs) if i % 6])[:args.jobs]
        floors, results = measure(services, enqueue(settings, "bench", args.image_template,
                                                    pairs), client)
    finally:
        services.close()
        drop()
        bus = redis.Redis.from_url(REDIS_URL)
        bus.delete(*KombuRedisLayout().queue_lists(queue), f"_kombu.binding.{queue}")
        bus.close()
    report(floors, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
