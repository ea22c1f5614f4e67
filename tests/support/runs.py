"""Runs as the tests make them: a ``RunRequest`` for a dataset's pairs, the demo's outcomes
worked out by hand, and waiting for a run's jobs on workers."""

from collections.abc import Iterable, Sequence
from pathlib import Path

from sqlalchemy import select

from coopbench.dataset.tasks import Pair, Task, demo_dataset_path, discover_pairs, load_tasks
from coopbench.job.setting import AGENT_SETTINGS, Setting
from coopbench.store import Attempt, Job, Store
from coopbench.store.states import FINISHED_STATES
from scheduler.enqueue import RunRequest
from tests.support.polling import wait_until

RUN_TIMEOUT_S = 300
FAKE_MODEL = "openai/fake-model"  # litellm has no price for it

# Worked out by hand from the demo's gold patches (see coopbench/dataset/demo/README.md).
# coop: (merge status, feature a passes, feature b passes). Pairs not listed merge cleanly
# and pass both. ledger 1+2, ledger 3+4 and textkit 1+2 conflict under the naive merge;
# upstream 0.0.29 then tests agent1's patch alone, which implements only feature a, so
# neither feature counts.
COOP_UNUSUAL = {
    ("ledger_task", 0, (1, 2)): ("conflicts", False, False),
    ("ledger_task", 0, (3, 4)): ("conflicts", False, False),
    ("textkit_task", 1, (1, 2)): ("conflicts", False, False),
}
# solo: the oracle applies both gold patches in turn; where they conflict, the second does
# not apply cleanly: the agent is Error, the markers stay in the files, both features fail.
SOLO_FAILING = set(COOP_UNUSUAL)


def expected_outcome(setting: str, key: tuple) -> tuple:
    """(merge status, feature a passes, feature b passes) of a demo pair's oracle job."""
    if setting == Setting.solo:
        return (None, False, False) if key in SOLO_FAILING else (None, True, True)
    return COOP_UNUSUAL.get(key, ("clean", True, True))


def demo_pairs(repo: str, count: int = 1) -> list[Pair]:
    """The first ``count`` pairs of one demo task."""
    return discover_pairs(demo_dataset_path(), repo=repo)[:count]


def demo_task(repo: str) -> Task:
    (task,) = load_tasks(demo_dataset_path(), repo)
    return task


def run_request(name: str, image_template: str, pairs: Iterable[Pair] | None = None, *,
                dataset: Path | None = None, repo: str | None = None,
                settings: Sequence[Setting] = AGENT_SETTINGS, agent: str = "oracle",
                model: str | None = None, step_limit: int = 1, cost_limit_usd: float = 0.0,
                **options) -> RunRequest:
    """The oracle on ``pairs`` (default: every pair) of ``dataset`` (default: the demo), in
    every agent setting, as ``coopbench enqueue`` would build it; ``options`` are the
    request's other fields."""
    dataset = Path(dataset) if dataset is not None else demo_dataset_path()
    return RunRequest(
        name=name, dataset=str(dataset),
        pairs=list(pairs) if pairs is not None else discover_pairs(dataset, repo=repo),
        tasks={(t.repo, t.task_id): t for t in load_tasks(dataset, repo)},
        settings=list(settings), agent=agent, model=model, step_limit=step_limit,
        cost_limit_usd=cost_limit_usd, image_template=image_template, **options)


def llm_request(name: str, image_template: str, llm_url: str, pairs: Iterable[Pair], *,
                settings: Sequence[Setting] = (Setting.solo,), agent_config: dict | None = None,
                **options) -> RunRequest:
    """mini-swe-agent on the scripted server at ``llm_url`` (tests/support/fakellm.py)."""
    return run_request(
        name, image_template, pairs, settings=settings, agent="mini-swe-agent",
        model=FAKE_MODEL, step_limit=10, cost_limit_usd=0,
        agent_config={"model_kwargs": {"api_base": llm_url}, **(agent_config or {})}, **options)


def wait_until_finished(store: Store, run: str, workers=None,
                        timeout_s: float = RUN_TIMEOUT_S) -> None:
    """Until every job of ``run`` is in a finished state; fails the test if ``workers``
    (anything with ``alive()``) die first."""
    def finished() -> bool:
        with store.session() as session:
            states = session.scalars(select(Job.state).where(Job.run_name == run)).all()
        return bool(states) and all(state in FINISHED_STATES for state in states)

    wait_until(finished, f"run {run} to finish", timeout_s, interval_s=0.5,
               alive=workers.alive if workers is not None else None)


def run_jobs(store: Store, run: str) -> list[Job]:
    with store.session() as session:
        return list(session.scalars(select(Job).where(Job.run_name == run)))


def jobs_of(store: Store, run: str) -> dict[str, Job]:
    """The run's jobs by repo (for runs of one pair per demo task)."""
    return {job.repo: job for job in run_jobs(store, run)}


def attempts_of(store: Store, job_id: str) -> list[Attempt]:
    with store.session() as session:
        return list(session.scalars(select(Attempt).where(Attempt.job_id == job_id)
                                    .order_by(Attempt.number)))
