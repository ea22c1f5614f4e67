"""A small synthetic run written straight into a real store (SQLite and PostgreSQL), the way
``coopbench.store.results`` writes a finished job (``result.json`` built by
``coopbench.job.outcome`` from the same agent results as the agent_runs rows; one
evaluation row per done job, its files named ``eval/1/...``), scored as upstream 0.0.29's
``test_merged``/``test_solo`` score (no union merge; the lead's patch alone when the naive
merge conflicts).

Pairs of task demo_task/7 (features a,b), one job per (pair, setting); minutes after T0:

| pair | solo                     | coop                                            | coop-nocomm                    |
|------|--------------------------|-------------------------------------------------|--------------------------------|
| 1,2  | pass (0-6)               | clean, pass (0-10)                              | clean, pass (20-25)            |
| 1,3  | fail (6-11)              | conflicts, solo-agent1, pass; 2 attempts (1-12) | conflicts, naive, fail (25-30) |
| 2,3  | pass, given [3,2] (1-4)  | eval error: patch not written (2-8)             | running (30-)                  |
| 1,4  | pass (4-9)               | missing_input, naive, fail (3-15)               | identical, fail (21-28)        |
| 2,4  | pass (9-20)              | failed_infra (4-5)                              |                                |
| 3,4  | failed, config (11-11.5) | queued                                          |                                |

"conflicts, naive": the lead's patch alone did not pass both, so neither feature passed.
"identical": both agents submitted the same patch, which passed feature 1 only.
"""

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from coopbench.agents import AgentResult, AgentStatus
from coopbench.evaluation.deviations import WHY
from coopbench.job.outcome import agent_run_row, result_json
from coopbench.job.setting import assignments, job_id
from coopbench.store import Artifact, Attempt, Evaluation, Job, Run

TOKENS = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")
RUN = "syn"
REPO, TASK = "demo_task", 7
MODEL = "vertex_ai/gemini-3-flash-preview"
AGENT = "mini-swe-agent"  # coopbench's own agent, as real runs have: not upstream's
T0 = datetime(2026, 5, 1, 10, 0, 0)
# As enqueue writes a run's options; the evaluations below ran with this filter.
RUN_CONFIG = {"sandbox_network": "default", "test_filter": "extended"}
# Upstream turns the exception of a failed patch write into the evaluation's error; the
# cause after the colon is the command's stderr, empty in coopbench's backend (and
# upstream's Docker one), which merge it into stdout.
WRITE_FAILED = "Failed to write patch1.patch: "
# What eval.json's deviations say of an evaluation with the extended filter, upstream's
# network and timeout.
EVAL_DEVIATIONS = [{"option": "test_filter", "value": "extended", "upstream": "upstream",
                    "why": WHY["test_filter"]}]


@dataclass
class Spec:
    setting: str
    features: tuple[int, int]
    state: str = "done"
    workers: tuple[str, ...] = ()  # one attempt each; the last one is the job's current one
    start: float = 0.0  # minutes after T0
    end: float | None = None
    merge: str | None = None  # the job's merge_status
    strategy: str | None = None  # eval.json merge.strategy
    both: bool = False
    passed: tuple[bool, bool] | None = None  # per feature; (both, both) by default
    eval_error: str | None = None
    costs: tuple[float, ...] = ()  # per agent, in assignment order
    evaluated_at: str | None = None
    error: str | None = None
    statuses: tuple[str, ...] = ()  # per agent; Submitted by default
    tokens: dict[str, tuple[int, int, int, int]] = field(default_factory=dict)
    repeat: int = 1  # of enqueue --repeats


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


SPECS = [
    Spec("solo", (1, 2), workers=("w3:1",), start=0, end=6, both=True, costs=(0.25,),
         evaluated_at="2026-05-01T10:05:00", tokens={"solo": (5000, 800, 100, 20)}),
    Spec("solo", (1, 3), workers=("w3:1",), start=6, end=11, costs=(0.5,),
         evaluated_at="2026-05-01T10:10:00", statuses=("LimitsExceeded",)),
    Spec("solo", (3, 2), workers=("w3:2",), start=1, end=4, both=True, costs=(0.125,),
         evaluated_at="2026-05-01T10:03:30"),
    Spec("solo", (1, 4), workers=("w3:2",), start=4, end=9, both=True, costs=(0.125,),
         evaluated_at="2026-05-01T10:08:00"),
    Spec("solo", (2, 4), workers=("w3:2",), start=9, end=20, both=True, costs=(0.625,),
         evaluated_at="2026-05-01T10:19:00"),
    Spec("solo", (3, 4), state="failed", workers=("w3:1",), start=11, end=11.5,
         error="image coopbench-test-demo:task7 not found"),
    Spec("coop", (1, 2), workers=("w1:1",), start=0, end=10, merge="clean", strategy="naive",
         both=True, costs=(0.25, 0.25), evaluated_at="2026-05-01T10:09:30.000001",
         tokens={"agent1": (1200, 340, 50, 7), "agent2": (900, 200, 0, 0)}),
    Spec("coop", (1, 3), workers=("w2:1", "w1:2"), start=1, end=12, merge="conflicts",
         strategy="solo-agent1", both=True, costs=(0.5, 0.25),
         evaluated_at="2026-05-01T10:11:00"),
    Spec("coop", (2, 3), workers=("w2:1",), start=2, end=8, merge="error", costs=(0.125, 0.125),
         eval_error=WRITE_FAILED, evaluated_at="2026-05-01T10:07:00"),
    Spec("coop", (1, 4), workers=("w2:2",), start=3, end=15, merge="missing_input",
         strategy="naive", costs=(0.5, 0.5), evaluated_at="2026-05-01T10:14:59.500000"),
    Spec("coop", (2, 4), state="failed_infra", workers=("w1:1",), start=4, end=5,
         error="docker: connection refused"),
    Spec("coop", (3, 4), state="queued"),
    Spec("coop-nocomm", (1, 2), workers=("w1:1",), start=20, end=25, merge="clean",
         strategy="naive", both=True, costs=(0.25, 0.25), evaluated_at="2026-05-01T10:24:00"),
    Spec("coop-nocomm", (1, 3), workers=("w1:1",), start=25, end=30, merge="conflicts",
         strategy="naive", costs=(0.25, 0.25), evaluated_at="2026-05-01T10:29:00"),
    Spec("coop-nocomm", (2, 3), state="running", workers=("w1:2",), start=30),
    Spec("coop-nocomm", (1, 4), workers=("w2:1",), start=21, end=28, merge="identical",
         strategy="skip-merge-identical", passed=(True, False), costs=(0.375, 0.375),
         evaluated_at="2026-05-01T10:27:30"),
]


def add_run(session, name: str = RUN, settings=("solo", "coop", "coop-nocomm"),
            **fields) -> None:
    """The run, upstream's limits (100 calls, $3); ``fields`` replace any column."""
    columns = dict(name=name, created_at=T0, dataset="/data/demo", agent=AGENT, model=MODEL,
                   settings=list(settings), step_limit=100, cost_limit_usd=3.0,
                   image_template="img-{slug}:task{task_id}", config=dict(RUN_CONFIG))
    session.add(Run(**{**columns, **fields}))


def add_job(session, spec: Spec, run: Run | None = None, name: str = RUN) -> None:
    """Rows as the claim (job, attempts) and ``record_done``/``record_failed`` leave them."""
    job = Job(id=job_id(name, REPO, TASK, spec.features, spec.setting, spec.repeat), run_name=name,
              repo=REPO, task_id=TASK, features=list(spec.features), setting=spec.setting,
              repeat=spec.repeat,
              state=spec.state, attempts=len(spec.workers), fencing_token=len(spec.workers),
              enqueued_at=T0, started_at=at(spec.start) if spec.workers else None,
              finished_at=at(spec.end) if spec.end is not None else None, error=spec.error)
    session.add(job)
    attempts = []
    for number, worker in enumerate(spec.workers, start=1):
        last = number == len(spec.workers)
        attempt = Attempt(
            job_id=job.id, number=number, fencing_token=number, host=worker.split(":")[0],
            worker=worker, state=spec.state if last else "abandoned", started_at=at(spec.start),
            finished_at=at(spec.end) if last and spec.end is not None else at(spec.start),
            error_class={"failed": "config", "failed_infra": "infra"}.get(spec.state) if last
            else "infra", error=spec.error if last else "lease expired")
        session.add(attempt)
        attempts.append(attempt)
    session.flush()
    if spec.state == "done":
        _record_done(session, spec, job, attempts[-1], run or session.get(Run, name))


def _record_done(session, spec: Spec, job: Job, attempt: Attempt, run: Run) -> None:
    plan = assignments(spec.setting, spec.features)
    statuses = spec.statuses or ("Submitted",) * len(plan)
    results = [
        AgentResult(a.agent_id, a.feature_ids, AgentStatus(status), at(spec.start), at(spec.end - 1),
                    steps=10 + i, cost_usd=cost, patch=_patch(spec, a.agent_id),
                    **dict(zip(TOKENS, spec.tokens.get(a.agent_id, (0, 0, 0, 0)))))
        for i, (a, cost, status) in enumerate(zip(plan, spec.costs, statuses))
    ]
    result = result_json(run, job, results)  # as the job's end builds it: one outcome
    for agent in results:
        row = agent_run_row(agent)
        row.attempt_id = attempt.id
        session.add(row)
    job.result, job.cost_usd = result, result["total_cost"]
    job.eval_status = "error" if spec.eval_error else "done"
    job.both_passed, job.merge_status = spec.both, spec.merge
    finished = datetime.fromisoformat(spec.evaluated_at) if spec.evaluated_at else at(spec.end)
    evaluation = Evaluation(
        job_id=job.id, number=1, attempt_id=attempt.id, state="done", test_filter="extended",
        requested_at=at(spec.end - 1), started_at=at(spec.end - 1), finished_at=finished,
        merge_status=spec.merge, merge_strategy=spec.strategy,
        naive_conflict=spec.merge == "conflicts", both_passed=spec.both, error=spec.eval_error,
    )
    session.add(evaluation)
    session.flush()
    job.agents_attempt_id, job.evaluation_id = attempt.id, evaluation.id
    artifacts = {f"{r.agent_id}.patch": (r.patch, None) for r in results}
    artifacts.update({f"{r.agent_id}_traj.json": ("[]", None) for r in results})
    artifacts["eval/1/eval.json"] = (_eval_json(spec), evaluation.id)  # the evaluation's only file
    for name, (text, evaluation_id) in artifacts.items():
        data, size = Artifact.compress(text)
        session.add(Artifact(job_id=job.id, attempt_id=attempt.id, evaluation_id=evaluation_id,
                             name=name, data_gz=data, size_bytes=size, created_at=at(spec.end)))


def _patch(spec: Spec, agent_id: str) -> str:
    # Upstream short-circuits to "identical" only for byte-identical, non-empty patches.
    return "+ the same change\n" if spec.merge == "identical" else f"+ change by {agent_id}\n"


def _eval_json(spec: Spec) -> str:
    """eval.json in the shapes upstream 0.0.29's procedure gives (``test_solo``,
    ``test_merged`` and its error result), plus coopbench's test_filter and deviations."""
    a, b = spec.features
    passed = spec.passed or (spec.both, spec.both)
    body: dict = {"repo": REPO, "task_id": TASK, "features": [a, b]}
    if spec.setting == "solo":
        body.update({"setting": "solo", "merge": None})
        for index, ok in ((1, passed[0]), (2, passed[1])):
            body[f"feature{index}"] = {"passed": ok, "test_output": _output(ok)}
    elif spec.eval_error:  # sandbox._merged_error_result
        empty = {"feature_id": None, "passed": False, "exit_code": None, "tests_passed": 0,
                 "tests_failed": 0, "test_output": ""}
        body.update({"setting": "coop", "apply_status": {"agent1": "unknown", "agent2": "unknown"},
                     "merge": {"status": "error", "strategy": None, "diff": ""},
                     "feature1": dict(empty), "feature2": dict(empty)})
    elif spec.merge == "identical":  # the runner's own results, without feature ids
        body.update({"setting": "coop", "apply_status": {"agent1": "applied", "agent2": "applied"},
                     "merge": {"status": "identical", "strategy": spec.strategy,
                               "diff": _patch(spec, "agent1")}})
        for index, ok in ((1, passed[0]), (2, passed[1])):
            body[f"feature{index}"] = {"passed": ok, "output": _output(ok), "exit_code": int(not ok),
                                       "tests_passed": int(ok), "tests_failed": int(not ok)}
    else:
        second = "failed" if spec.merge == "missing_input" else "applied"
        # A merged tree (clean) or the lead's patch alone (solo-agent1) was tested; otherwise
        # neither feature ran and both keep upstream's placeholder result.
        tested = spec.merge == "clean" or spec.strategy == "solo-agent1"
        body.update({"setting": "coop", "apply_status": {"agent1": "applied", "agent2": second},
                     "merge": {"status": spec.merge, "strategy": spec.strategy, "diff": ""}})
        for index, fid, ok in ((1, a, passed[0]), (2, b, passed[1])):
            body[f"feature{index}"] = (
                {"feature_id": fid, "passed": ok, "exit_code": int(not ok),
                 "tests_passed": int(ok), "tests_failed": int(not ok), "test_output": _output(ok)}
                if tested else
                {"feature_id": fid, "passed": False, "exit_code": None, "tests_passed": 0,
                 "tests_failed": 0, "test_output": ""})
    body.update({"both_passed": spec.both, "error": spec.eval_error,
                 "evaluated_at": spec.evaluated_at, "test_filter": "extended",
                 "deviations": EVAL_DEVIATIONS})
    return json.dumps(body, indent=2)


def _output(passed: bool) -> str:
    return "1 passed" if passed else "1 failed"


def build(store, specs=SPECS, name: str = RUN, settings=("solo", "coop", "coop-nocomm"),
          **run_fields) -> None:
    with store.session() as session, session.begin():
        add_run(session, name, settings, **run_fields)
        session.flush()
        for spec in specs:
            add_job(session, spec, name=name)
