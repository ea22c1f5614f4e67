"""The order a run's jobs start in: longest expected first, so that no long job starts last
and sets the run's finish time while the other slots stand idle.

**Prediction**, per job, in seconds of one worker slot:

- *history*: the same group and setting, with the same model and agent, finished ``done``
  in an earlier run in the store: the median of those durations (claim to commit);
- otherwise a *prior*: the setting's typical duration (the median of that setting's
  finished jobs with this model and agent in the store, once there are ``MIN_SIMILAR`` of
  them; before that the seed run's means, ``SEED_PRIOR_S``), times the group's size (its
  number of features over two) and the square root of its gold patches' size relative to
  the run's median group (bigger changes take longer; a square root, since size explains
  only part of it), times ``UNKNOWN_FACTOR``: a job never measured goes early, since an
  unknown long job starting last is the costliest mistake.

**Priority**: the run's jobs sorted by prediction, longest first (ties keep the pair-major
order, so settings stay interleaved), cut into ``PRIORITY_LEVELS`` equal bands: band 0
first. Each message carries its band as its Celery priority, which kombu's Redis transport
keeps in one list per band and serves band 0 first, on every host; within a band the
messages go out longest first and are served in that order. A retry or a job added later
keeps its band, so it takes its place by the same rule.
"""

import enum
import functools
import math
import statistics
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import select

from coopbench.dataset.tasks import Pair, Task
from coopbench.store import Job, JobState, Run
from workers.celeryconfig import PRIORITY_LEVELS  # kombu's priority steps, 0 served first

# Minutes of a slot per job in the seed run (300 jobs, gpt-class model): what a job takes
# before this store has seen any. Settings the seed did not run are taken as coop.
SEED_PRIOR_S = {"solo": 1.8 * 60, "coop": 2.4 * 60, "coop-nocomm": 2.2 * 60}
MIN_SIMILAR = 5  # finished jobs of a setting before their median replaces the seed's prior
UNKNOWN_FACTOR = 1.5
SIZE_FACTOR_RANGE = (0.5, 2.0)  # a patch far off the median must not dominate


class StartOrder(enum.StrEnum):
    """``enqueue --order``: which waiting job a free worker slot takes."""

    longest_first = "longest-first"  # by prediction (above): the default
    discovery = "discovery"  # the selection's own order, pair by pair (a FIFO queue's)


@dataclass(frozen=True)
class Prediction:
    seconds: float
    source: str  # "history" | "prior"


@dataclass(frozen=True)
class PlannedJob:
    job_id: str
    pair: Pair
    setting: str


def predict(session, jobs: list[PlannedJob], tasks: dict[tuple[str, int], Task],
            model: str | None, agent: str, run_name: str) -> dict[str, Prediction]:
    """Each job's expected duration, from the store's history or a prior (see above)."""
    durations = _finished_durations(session, model, agent, run_name)
    by_setting: dict[str, list[float]] = defaultdict(list)
    for (_, setting), seconds in durations.items():
        by_setting[setting].extend(seconds)
    sizes = _patch_sizes(jobs, tasks)
    median_size = statistics.median(sizes.values()) if sizes else 0
    predictions = {}
    for job in jobs:
        seen = durations.get((_group_key(job.pair), job.setting))
        if seen:
            predictions[job.job_id] = Prediction(statistics.median(seen), "history")
            continue
        similar = by_setting.get(job.setting, [])
        base = (statistics.median(similar) if len(similar) >= MIN_SIMILAR
                else SEED_PRIOR_S.get(job.setting, SEED_PRIOR_S["coop"]))
        size = _size_factor(sizes.get(_group_key(job.pair), 0), median_size)
        seconds = base * len(job.pair.features) / 2 * size * UNKNOWN_FACTOR
        predictions[job.job_id] = Prediction(seconds, "prior")
    return predictions


def priorities(ordered_ids: list[str], predictions: dict[str, Prediction]) -> dict[str, int]:
    """Band of each job (0 first): the jobs sorted longest first, in equal bands.
    ``ordered_ids`` is the run's own order, which ties keep."""
    ranked = sorted(ordered_ids, key=lambda jid: -predictions[jid].seconds)  # stable
    count = len(ranked)
    return {jid: rank * PRIORITY_LEVELS // count for rank, jid in enumerate(ranked)}


def _group_key(pair: Pair) -> tuple:
    return pair.repo, pair.task_id, tuple(pair.features)


def _finished_durations(session, model: str | None, agent: str,
                        run_name: str) -> dict[tuple, list[float]]:
    """Seconds from claim to commit of every ``done`` job of other runs with this model and
    agent, by (group, setting)."""
    rows = session.execute(
        select(Job.repo, Job.task_id, Job.features, Job.setting, Job.started_at, Job.finished_at)
        .join(Run, Run.name == Job.run_name)
        .where(Job.state == JobState.done, Run.name != run_name, Run.agent == agent,
               Run.model.is_(None) if model is None else Run.model == model,
               Job.started_at.is_not(None), Job.finished_at.is_not(None)))
    durations: dict[tuple, list[float]] = defaultdict(list)
    for repo, task_id, features, setting, started, finished in rows:
        durations[((repo, task_id, tuple(features)), setting)].append(
            (finished - started).total_seconds())
    return durations


def _patch_sizes(jobs: list[PlannedJob], tasks: dict[tuple[str, int], Task]) -> dict[tuple, int]:
    """Lines of the gold patches of each group, each feature's file read once."""
    @functools.cache
    def lines(repo: str, task_id: int, fid: int) -> int:
        task = tasks.get((repo, task_id))
        return task.gold_patch(fid).count("\n") if task is not None else 0

    return {_group_key(job.pair): sum(lines(job.pair.repo, job.pair.task_id, fid)
                                      for fid in job.pair.features) for job in jobs}


def _size_factor(size: int, median_size: float) -> float:
    if not size or not median_size:
        return 1.0
    low, high = SIZE_FACTOR_RANGE
    return min(max(math.sqrt(size / median_size), low), high)
