"""``coopbench enqueue`` and ``enqueue_run`` on a real store (SQLite, PostgreSQL) and Redis.

kombu's Redis transport keeps a queue as a Redis LIST named after the queue: a publish is an
LPUSH, so the oldest message is at the right end. A message's ``headers.id`` is the Celery
task id, which coopbench sets to the job id.
"""

import base64
import json
from collections import Counter

import pytest
from sqlalchemy import func, inspect, select, update

from coopbench.dataset.tasks import demo_dataset_path, discover_pairs
from coopbench.job.setting import AGENT_SETTINGS, Setting, job_id
from coopbench.store import Job, JobState, Run, Store, TaskFeature, utcnow
from scheduler.enqueue import enqueue_run
from tests.support.broker import queue_length, queued_messages
from tests.support.runs import run_request

DEMO = demo_dataset_path()
ALL_SETTINGS = "solo,coop,coop-nocomm"
CLOSED_BROKER_URL = "redis://127.0.0.1:6390/0"
CLOSED_DATABASE_URL = "postgresql+psycopg://postgres@127.0.0.1:5499/x"


def _enqueue_args(*extra: str, run: str = "R") -> list[str]:
    """The oracle unless ``extra`` names another agent (click keeps an option's last value)."""
    return ["enqueue", "--dataset", str(DEMO), "--run", run, "--agent", "oracle", *extra]


def _expected_ids(run: str, settings: str = ALL_SETTINGS, **selection) -> list[str]:
    """Job ids in publish order: pair-major, settings in the order given."""
    return [job_id(run, p.repo, p.task_id, p.features, s)
            for p in discover_pairs(DEMO, **selection) for s in settings.split(",")]


def _messages(redis_client, queue: str) -> list[dict]:
    """The queue's messages, in the order a worker takes them."""
    return queued_messages(redis_client, queue)


def _row_counts(url: str) -> dict[str, int]:
    """Rows per table; a table that does not exist has none."""
    store = Store(url)
    try:
        tables = set(inspect(store.engine).get_table_names())
        with store.session() as session:
            return {
                model.__tablename__: session.scalar(select(func.count()).select_from(model))
                if model.__tablename__ in tables else 0
                for model in (Run, Job, TaskFeature)
            }
    finally:
        store.dispose()


def _jobs(url: str) -> dict[str, Job]:
    store = Store(url)
    try:
        with store.session() as session:
            return {job.id: job for job in session.scalars(select(Job))}
    finally:
        store.dispose()


def _summary(result) -> str:
    return " ".join(result.stdout.split())  # whitespace-insensitive; one-line output has its own test


def test_enqueue_demo_makes_one_job_and_one_message_per_pair_and_setting(
    cli, database_url, redis_client, queue
):
    result = cli(*_enqueue_args("--settings", ALL_SETTINGS, "--agent", "oracle"))
    assert result.returncode == 0, result.stderr
    assert "run R: 36 jobs (36 new, 0 reset, 0 already finished, 0 running), 36 published" in _summary(result)

    expected = _expected_ids("R")
    assert len(expected) == len(set(expected)) == 36  # 12 pairs x 3 settings, ids distinct
    jobs = _jobs(database_url)
    assert set(jobs) == set(expected)
    assert all(j.state == JobState.queued and j.published_at is not None for j in jobs.values())
    for pair in discover_pairs(DEMO):
        for setting in AGENT_SETTINGS:
            job = jobs[job_id("R", pair.repo, pair.task_id, pair.features, setting)]
            assert (job.run_name, job.repo, job.task_id, job.features, job.setting) == (
                "R", pair.repo, pair.task_id, list(pair.features), setting.value)

    messages = _messages(redis_client, queue)
    served = [m["headers"]["id"] for m in messages]
    assert sorted(served) == sorted(expected)  # one each
    # Longest expected first: served in order of prediction, each in its band's list.
    predicted = [jobs[jid].predicted_s for jid in served]
    assert predicted == sorted(predicted, reverse=True), predicted
    assert [jobs[jid].priority for jid in served] == sorted(j.priority for j in jobs.values())
    for message in messages:
        jid = message["headers"]["id"]
        assert message["properties"]["priority"] == jobs[jid].priority
        assert message["headers"]["task"] == "coopbench.run_job"
        assert message["properties"]["delivery_info"]["routing_key"] == queue
        args, kwargs, _ = json.loads(base64.b64decode(message["body"]))
        assert (args, kwargs) == ([jid], {})

    store = Store(database_url)
    with store.session() as session:
        run = session.get(Run, "R")
        assert (run.agent, run.model, run.settings) == ("oracle", None, ["solo", "coop", "coop-nocomm"])
        assert run.dataset == str(DEMO.resolve())
        assert run.config["queue"] == queue
        # upstream's defaults, recorded: Docker's network, upstream's test-file filter and limits
        assert (run.config["sandbox_network"], run.config["test_filter"]) == ("default", "upstream")
        assert run.config["pull"] == "missing"  # pull what a host lacks, as upstream's runner
        assert (run.step_limit, run.cost_limit_usd) == (100, 3.0)
        assert "database_url" not in run.config and "broker_url" not in run.config
    store.dispose()


def test_job_ids_are_the_same_for_the_same_run_on_another_store(cli, database_url, tmp_path):
    """The id depends only on (run, pair, setting), so every host computes the same one."""
    assert cli(*_enqueue_args("--settings", "coop", "--task", "0")).returncode == 0
    other_store = f"sqlite:///{tmp_path / 'other.db'}"
    assert cli(*_enqueue_args("--settings", "coop", "--task", "0"),
               COOPBENCH_DATABASE_URL=other_store).returncode == 0
    ids = set(_jobs(database_url))
    assert ids == set(_jobs(other_store)) == set(_expected_ids("R", "coop", task_id=0))
    assert len(ids) == 6
    assert ids.isdisjoint(_expected_ids("R2", "coop", task_id=0))  # the run name is in the id


def test_repeats_are_separate_jobs_and_a_larger_k_adds_only_the_missing_ones(
        cli, database_url, redis_client, queue):
    selection = ("--settings", "solo,coop", "--task", "0")
    first = cli(*_enqueue_args(*selection, "--repeats", "2"))
    assert first.returncode == 0, first.stderr
    assert "24 jobs (24 new, 0 reset, 0 already finished, 0 running), 24 published" in _summary(first)
    jobs = _jobs(database_url)
    pairs = discover_pairs(DEMO, task_id=0)
    for pair in pairs:
        for setting in ("solo", "coop"):
            ids = [job_id("R", pair.repo, pair.task_id, pair.features, setting, repeat)
                   for repeat in (1, 2)]
            assert [jobs[jid].repeat for jid in ids] == [1, 2]
    # The first repeat keeps the id a run without --repeats has, so older runs resume.
    assert set(_expected_ids("R", "solo,coop", task_id=0)) == {
        jid for jid, job in jobs.items() if job.repeat == 1}

    more = cli(*_enqueue_args(*selection, "--repeats", "3"))
    assert more.returncode == 0, more.stderr
    assert "36 jobs (12 new, 0 reset, 0 already finished, 0 running), 12 published" in _summary(more)
    assert Counter(job.repeat for job in _jobs(database_url).values()) == {1: 12, 2: 12, 3: 12}
    assert queue_length(redis_client, queue) == 36

    refused = cli(*_enqueue_args(*selection, "--repeats", "0"))
    assert refused.returncode != 0 and "--repeats" in refused.stderr


def test_enqueue_twice_adds_nothing_and_publishes_nothing(cli, database_url, redis_client, queue):
    assert cli(*_enqueue_args()).returncode == 0
    published_at = {jid: job.published_at for jid, job in _jobs(database_url).items()}
    assert queue_length(redis_client, queue) == 36

    again = cli(*_enqueue_args())
    assert again.returncode == 0, again.stderr
    assert "36 jobs (0 new, 0 reset, 0 already finished, 0 running), 0 published" in _summary(again)
    assert queue_length(redis_client, queue) == 36
    assert {jid: job.published_at for jid, job in _jobs(database_url).items()} == published_at
    assert _row_counts(database_url) == {"runs": 1, "jobs": 36, "task_features": 8}


def _finish(url: str, ids: list[str]) -> None:
    store = Store(url)
    with store.session() as session, session.begin():
        session.execute(update(Job).where(Job.id.in_(ids)).values(
            state=JobState.done, finished_at=utcnow(), result={"agents": {}}, eval_status="done",
            both_passed=True, merge_status="clean", cost_usd=0.0,
        ))
    store.dispose()


def test_finished_jobs_stay_done_without_force(cli, database_url, redis_client, queue):
    assert cli(*_enqueue_args()).returncode == 0
    finished = _expected_ids("R", repo="ledger_task")[:3]  # ledger [1,2], all three settings
    _finish(database_url, finished)

    again = cli(*_enqueue_args())
    assert again.returncode == 0, again.stderr
    assert "(0 new, 0 reset, 3 already finished, 0 running), 0 published" in _summary(again)
    assert queue_length(redis_client, queue) == 36
    jobs = _jobs(database_url)
    assert {jid for jid, job in jobs.items() if job.state == JobState.done} == set(finished)
    assert all(jobs[jid].both_passed for jid in finished)


def test_force_requeues_and_republishes_only_the_finished_jobs(cli, database_url, redis_client, queue):
    assert cli(*_enqueue_args()).returncode == 0
    finished = _expected_ids("R", repo="ledger_task")[:3]
    _finish(database_url, finished)

    forced = cli(*_enqueue_args("--force"))
    assert forced.returncode == 0, forced.stderr
    assert "(0 new, 3 reset, 0 already finished, 0 running), 3 published" in _summary(forced)
    messages = _messages(redis_client, queue)
    assert len(messages) == 39
    sent = Counter(m["headers"]["id"] for m in messages)  # the reset jobs once more
    assert sorted(jid for jid, count in sent.items() if count == 2) == sorted(finished)
    jobs = _jobs(database_url)
    assert all(job.state == JobState.queued for job in jobs.values())
    for jid in finished:
        job = jobs[jid]
        assert job.published_at is not None and job.finished_at is None
        assert (job.result, job.eval_status, job.both_passed, job.merge_status, job.cost_usd) == (
            None, None, None, None, None)

    # the re-queued jobs are now published: a second --force publishes nothing more
    again = cli(*_enqueue_args("--force"))
    assert "0 reset" in _summary(again) and "0 published" in _summary(again)
    assert queue_length(redis_client, queue) == 39


def test_committed_but_unpublished_jobs_are_published_by_the_next_enqueue(
    settings, database_url, redis_client, queue
):
    """A broker failure after the commit leaves jobs without published_at: found again."""
    request = run_request("R", "img-{slug}:task{task_id}", repo="textkit_task",
                          settings=[Setting.coop, Setting.solo], step_limit=10, cost_limit_usd=1.0)
    report = enqueue_run(settings, request)
    assert (report.jobs_total, report.jobs_added, report.published) == (12, 12, 12)
    assert report.by_setting == {"coop": 6, "solo": 6}
    ids = [m["headers"]["id"] for m in _messages(redis_client, queue)]
    lost = ids[4:7]
    store = Store(database_url)
    with store.session() as session, session.begin():
        session.execute(update(Job).where(Job.id.in_(lost)).values(published_at=None))
    store.dispose()

    report = enqueue_run(settings, request)
    assert (report.jobs_added, report.published) == (0, 3)
    sent = Counter(m["headers"]["id"] for m in _messages(redis_client, queue))
    assert sorted(jid for jid, count in sent.items() if count == 2) == sorted(lost)
    assert all(job.published_at is not None for job in _jobs(database_url).values())


def _assert_wrote_nothing(url: str, redis_client, queue: str) -> None:
    assert _row_counts(url) == {"runs": 0, "jobs": 0, "task_features": 0}
    assert queue_length(redis_client, queue) == 0


@pytest.mark.parametrize(
    "args,env,exit_code,expected",
    [
        pytest.param(_enqueue_args("--settings", "solo,pair"), {}, 2,
                     "unknown setting 'pair'", id="unknown-setting"),
        pytest.param(_enqueue_args("--agent", "claude"), {}, 2,
                     "unknown agent 'claude'", id="unknown-agent"),
        pytest.param(["enqueue", "--dataset", "/nonexistent/cooperbench/dataset", "--run", "R"], {},
                     2, "dataset directory /nonexistent/cooperbench/dataset does not exist",
                     id="missing-dataset"),
        pytest.param(_enqueue_args(run=""), {}, 2, "--run must not be empty", id="empty-run"),
        pytest.param(_enqueue_args(run="   "), {}, 2, "--run must not be empty", id="blank-run"),
        pytest.param(_enqueue_args(), {"COOPBENCH_BROKER_URL": CLOSED_BROKER_URL}, 3,
                     "cannot reach the broker redis://127.0.0.1:6390/0", id="unreachable-broker"),
        pytest.param(_enqueue_args(), {"COOPBENCH_DATABASE_URL": CLOSED_DATABASE_URL}, 3,
                     "cannot reach the database postgresql+psycopg://postgres@127.0.0.1:5499/x",
                     id="unreachable-database"),
    ],
)
def test_errors_exit_with_one_line_and_write_nothing(
    cli, database_url, redis_client, queue, args, env, exit_code, expected
):
    result = cli(*args, **env)
    assert result.returncode == exit_code, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert expected in lines[0]
    assert "Traceback" not in result.stderr and "published" not in result.stdout
    _assert_wrote_nothing(database_url, redis_client, queue)


def test_a_second_enqueue_with_another_model_is_refused(cli, database_url, redis_client, queue):
    assert cli(*_enqueue_args("--task", "0")).returncode == 0
    before = _row_counts(database_url)

    refused = cli(*_enqueue_args("--model", "openai/gpt-4o-mini"))
    assert refused.returncode == 2
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: run 'R' already exists"), refused.stderr
    assert "--run" in lines[0]  # says what to do instead
    assert _row_counts(database_url) == before  # textkit's jobs were not added either
    assert queue_length(redis_client, queue) == 18
    store = Store(database_url)
    with store.session() as session:
        assert session.get(Run, "R").model is None
    store.dispose()


def test_the_run_summary_prints_the_run_name_verbatim_on_one_line(cli):
    name = "gpt-4o-mini-2026-05-01-[red]retry[/red]-on-the-flash-subset"
    result = cli(*_enqueue_args("--settings", "solo", "--task", "0", run=name))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0].startswith(f"run {name}: 6 jobs (6 new,")


def _snapshot(url: str) -> dict[tuple[str, int, int], tuple[str, str, str]]:
    store = Store(url)
    with store.session() as session:
        rows = {(f.repo, f.task_id, f.feature_id): (f.spec, f.gold_patch, f.tests_patch)
                for f in session.scalars(select(TaskFeature).where(TaskFeature.run_name == "R"))}
    store.dispose()
    return rows


def _files(repo: str, task_id: int, fid: int) -> tuple[str, str, str]:
    folder = DEMO / repo / f"task{task_id}" / f"feature{fid}"
    return tuple((folder / name).read_bytes().decode("utf-8")
                 for name in ("feature.md", "feature.patch", "tests.patch"))


def test_task_snapshot_holds_exactly_the_features_used(cli, database_url):
    assert cli(*_enqueue_args("--repo", "ledger_task", "--features", "3,1")).returncode == 0
    snapshot = _snapshot(database_url)
    assert set(snapshot) == {("ledger_task", 0, 1), ("ledger_task", 0, 3)}
    for key, texts in snapshot.items():
        assert texts == _files(*key)
        assert all(texts)  # spec, gold and tests are all non-empty in the demo

    # resuming the run with more pairs adds their features, once
    assert cli(*_enqueue_args("--subset", "smoke")).returncode == 0
    snapshot = _snapshot(database_url)
    assert set(snapshot) == {("ledger_task", 0, f) for f in (1, 3, 4)} | {
        ("textkit_task", 1, f) for f in (1, 2, 3, 4)}
    for key, texts in snapshot.items():
        assert texts == _files(*key)


@pytest.mark.parametrize("option, first, second", [
    ("--step-limit", "5", "6"), ("--cost-limit", "1.0", "2.0"),
    ("--test-filter", "extended", "upstream"), ("--sandbox-network", "none", "default"),
    ("--pull", "never", "missing"),
])
def test_resuming_a_run_with_changed_options_is_refused(cli, database_url, redis_client, queue,
                                                       option, first, second):
    assert cli(*_enqueue_args("--task", "0", option, first)).returncode == 0
    before = _row_counts(database_url)
    refused = cli(*_enqueue_args(option, second))
    assert refused.returncode == 2
    assert option in refused.stderr and "already exists" in refused.stderr, refused.stderr
    assert _row_counts(database_url) == before


def test_resuming_with_more_settings_keeps_their_order(cli, database_url, redis_client, queue):
    assert cli(*_enqueue_args("--task", "0", "--settings", "coop")).returncode == 0
    assert cli(*_enqueue_args("--task", "0", "--settings", "solo,coop")).returncode == 0
    store = Store(database_url)
    with store.session() as session:
        assert session.get(Run, "R").settings == ["coop", "solo"]
    store.dispose()
