"""Upstream's run-level files (reference 5.1, 5.5, 5.9) exported from a synthetic run in a
real store (SQLite and PostgreSQL); the run is described in ``synthetic_run.py``."""

import json
from datetime import datetime

from coopbench.evaluation.deviations import WHY
from coopbench.export.run_export import export_run
from tests.export.synthetic_run import AGENT, MODEL, RUN, SPECS, Spec, build

NONE = type(None)
# Upstream's keys in upstream's order, each with the types its value may have.
CONFIG = {"run_name": str, "agent_framework": str, "model": str, "setting": str,
          "concurrency": int, "total_tasks": int, "started_at": str,
          "deviations": list, "images": dict}  # the last two are coopbench's
SUMMARY = {"run_name": str, "completed_at": str, "pass_rate": float, "total_tasks": int,
           "completed": int, "skipped": int, "failed": int, "total_cost": float,
           "total_time_seconds": float, "results": list, "eval": dict}
SUMMARY_DONE = {"task": str, "status": str, "cost": float, "eval": (str, NONE)}
SUMMARY_ERROR = {"task": str, "status": str, "cost": float, "error": str, "eval": NONE}
SUMMARY_EVAL = {"total_evaluated": int, "passed": int, "failed": int, "errors": int,
                "skipped": int, "pass_rate": float}
EVAL_SUMMARY = {"run_name": str, "evaluated_at": str, "total_runs": int, "passed": int,
                "failed": int, "errors": int, "skipped": int, "pass_rate": float, "results": list}
EVAL_SUMMARY_RESULT = {"run": str, "status": str}


def check_schema(value: dict, schema: dict) -> None:
    assert list(value) == list(schema)
    for key, kinds in schema.items():
        kinds = kinds if isinstance(kinds, tuple) else (kinds,)
        assert type(value[key]) in kinds, (key, value[key])  # exact: a bool is not an int


def check_naive_iso(text: str) -> None:
    assert datetime.fromisoformat(text).tzinfo is None


def read(out, setting: str, name: str) -> dict:
    return json.loads((out / f"{RUN}-{setting}" / name).read_text())


def test_every_setting_directory_gets_the_three_run_files(exported):
    _, out = exported
    for setting in ("solo", "coop", "coop-nocomm"):
        names = {p.name for p in (out / f"{RUN}-{setting}").iterdir() if p.is_file()}
        assert names == {"config.json", "summary.json", "eval_summary.json"}
    assert not list(out.rglob(".*.tmp"))


def test_config_json(exported):
    _, out = exported
    configs = {s: read(out, s, "config.json") for s in ("solo", "coop", "coop-nocomm")}
    for config in configs.values():
        check_schema(config, CONFIG)
        check_naive_iso(config["started_at"])
    # coopbench's agent is not upstream's; its evaluations dropped more test files than
    # upstream's filter (the run's test_filter). Limits (100, $3), network (default) and
    # test timeout (600 s, none given) are upstream's, so they are not listed.
    deviations = [
        {"option": "agent", "value": "mini-swe-agent", "upstream": "mini_swe_agent_v2",
         "why": WHY["agent"]},
        {"option": "test_filter", "value": "extended", "upstream": "upstream",
         "why": WHY["test_filter"]},
    ]
    common = {"agent_framework": AGENT, "model": MODEL, "started_at": "2026-05-01T10:00:00",
              "deviations": deviations, "images": {}}  # no job pinned an image here
    assert configs == {
        # solo attempts ran on w3:1 and w3:2 -> 2 worker processes; 6 pairs
        "solo": {"run_name": "syn-solo", **common, "setting": "solo", "concurrency": 2,
                 "total_tasks": 6},
        # coop: w1:1 (1,2 and 2,4), w2:1 and w1:2 (1,3), w2:1 (2,3), w2:2 (1,4) -> 4;
        # the queued 3,4 counts in total_tasks
        "coop": {"run_name": "syn-coop", **common, "setting": "coop", "concurrency": 4,
                 "total_tasks": 6},
        # w1:1 ran 1,2 and 1,3, w1:2 runs 2,3, w2:1 ran 1,4 -> 3; upstream's layout says "coop"
        "coop-nocomm": {"run_name": "syn-coop-nocomm", **common, "setting": "coop",
                        "concurrency": 3, "total_tasks": 4},
    }


def test_summary_json(exported):
    _, out = exported
    summaries = {s: read(out, s, "summary.json") for s in ("solo", "coop", "coop-nocomm")}
    for summary in summaries.values():
        check_schema(summary, SUMMARY)
        check_naive_iso(summary["completed_at"])
        check_schema(summary["eval"], SUMMARY_EVAL)
        for entry in summary["results"]:
            check_schema(entry, SUMMARY_DONE if entry["status"] == "done" else SUMMARY_ERROR)

    assert summaries["solo"] == {
        "run_name": "syn-solo",
        "completed_at": "2026-05-01T10:20:00",  # 2,4 finished last, at minute 20
        "pass_rate": 0.8,  # 4 passed / (4 passed + 1 failed)
        "total_tasks": 6, "completed": 5, "skipped": 0,
        "failed": 1,  # 3,4: a configuration failure is upstream's "error"
        "total_cost": 1.625,  # 0.25 + 0.5 + 0.125 + 0.125 + 0.625
        "total_time_seconds": 1200.0,  # minute 0 (1,2 starts) to minute 20
        "results": [  # pair order; 2,3 was given as [3,2] and is listed sorted
            {"task": "demo_task/7/1,2", "status": "done", "cost": 0.25, "eval": "pass"},
            {"task": "demo_task/7/1,3", "status": "done", "cost": 0.5, "eval": "fail"},
            {"task": "demo_task/7/1,4", "status": "done", "cost": 0.125, "eval": "pass"},
            {"task": "demo_task/7/2,3", "status": "done", "cost": 0.125, "eval": "pass"},
            {"task": "demo_task/7/2,4", "status": "done", "cost": 0.625, "eval": "pass"},
            {"task": "demo_task/7/3,4", "status": "error", "cost": 0.0,
             "error": "image coopbench-test-demo:task7 not found", "eval": None},
        ],
        "eval": {"total_evaluated": 5, "passed": 4, "failed": 1, "errors": 0, "skipped": 0,
                 "pass_rate": 0.8},
    }
    assert summaries["coop"] == {
        "run_name": "syn-coop",
        "completed_at": "2026-05-01T10:15:00",  # 1,4 finished last, at minute 15
        "pass_rate": 0.6667,  # 2 passed / (2 + 1 failed); the eval error is left out
        "total_tasks": 6,  # the queued 3,4 counts here and nowhere else
        "completed": 4, "skipped": 0,
        "failed": 1,  # 2,4 failed_infra
        "total_cost": 2.5,  # 0.5 + 0.75 + 0.25 + 1.0 (done jobs only)
        "total_time_seconds": 900.0,  # minute 0 to minute 15 (2,4's 4-5 lies inside)
        "results": [
            {"task": "demo_task/7/1,2", "status": "done", "cost": 0.5, "eval": "pass"},
            {"task": "demo_task/7/1,3", "status": "done", "cost": 0.75, "eval": "pass"},
            {"task": "demo_task/7/1,4", "status": "done", "cost": 1.0, "eval": "fail"},
            {"task": "demo_task/7/2,3", "status": "done", "cost": 0.25, "eval": "error"},
            {"task": "demo_task/7/2,4", "status": "error", "cost": 0.0,
             "error": "docker: connection refused", "eval": None},
        ],
        "eval": {"total_evaluated": 4, "passed": 2, "failed": 1, "errors": 1, "skipped": 0,
                 "pass_rate": 0.6667},
    }
    assert summaries["coop-nocomm"] == {
        "run_name": "syn-coop-nocomm",
        "completed_at": "2026-05-01T10:30:00",
        "pass_rate": 0.3333,  # 1 / (1 + 2)
        "total_tasks": 4, "completed": 3, "skipped": 0, "failed": 0,  # 2,3 still running
        "total_cost": 1.75,  # 0.5 + 0.5 + 0.75
        "total_time_seconds": 600.0,  # minute 20 to minute 30 (1,4's 21-28 lies inside)
        "results": [
            {"task": "demo_task/7/1,2", "status": "done", "cost": 0.5, "eval": "pass"},
            {"task": "demo_task/7/1,3", "status": "done", "cost": 0.5, "eval": "fail"},
            # identical patches that passed feature 1 only: a fail like any other
            {"task": "demo_task/7/1,4", "status": "done", "cost": 0.75, "eval": "fail"},
        ],
        "eval": {"total_evaluated": 3, "passed": 1, "failed": 2, "errors": 0, "skipped": 0,
                 "pass_rate": 0.3333},
    }


def test_eval_summary_json_covers_every_evaluated_pair(exported):
    _, out = exported
    summaries = {s: read(out, s, "eval_summary.json") for s in ("solo", "coop", "coop-nocomm")}
    for summary in summaries.values():
        check_schema(summary, EVAL_SUMMARY)
        check_naive_iso(summary["evaluated_at"])
        for entry in summary["results"]:
            check_schema(entry, EVAL_SUMMARY_RESULT)
    assert summaries["solo"] == {
        "run_name": "syn-solo",
        "evaluated_at": "2026-05-01T10:19:00",  # the latest eval.json (2,4)
        "total_runs": 5, "passed": 4, "failed": 1, "errors": 0, "skipped": 0,
        "pass_rate": 0.8,
        "results": [{"run": "demo_task/7/1,2", "status": "pass"},
                    {"run": "demo_task/7/1,3", "status": "fail"},
                    {"run": "demo_task/7/1,4", "status": "pass"},
                    {"run": "demo_task/7/2,3", "status": "pass"},
                    {"run": "demo_task/7/2,4", "status": "pass"}],
    }
    assert summaries["coop"] == {
        "run_name": "syn-coop",
        # from 1,4's eval.json, the latest; not its job's finished_at (10:15:00)
        "evaluated_at": "2026-05-01T10:14:59.500000",
        "total_runs": 4,  # every evaluated pair, the evaluation error included
        "passed": 2, "failed": 1, "errors": 1, "skipped": 0,
        "pass_rate": 0.6667,  # 2 / (2 + 1)
        "results": [{"run": "demo_task/7/1,2", "status": "pass"},
                    {"run": "demo_task/7/1,3", "status": "pass"},
                    {"run": "demo_task/7/1,4", "status": "fail"},
                    {"run": "demo_task/7/2,3", "status": "error"}],
    }
    assert summaries["coop-nocomm"] == {
        "run_name": "syn-coop-nocomm",
        "evaluated_at": "2026-05-01T10:29:00",  # 1,3's; 1,4 was evaluated at 10:27:30
        "total_runs": 3, "passed": 1, "failed": 2, "errors": 0, "skipped": 0,
        "pass_rate": 0.3333,
        "results": [{"run": "demo_task/7/1,2", "status": "pass"},
                    {"run": "demo_task/7/1,3", "status": "fail"},
                    {"run": "demo_task/7/1,4", "status": "fail"}],
    }


def test_a_single_pair_run_lists_its_pair(store, tmp_path):
    """Upstream's single-pair path writes ``results: []``; ours lists the pair."""
    only = [s for s in SPECS if (s.setting, s.features) == ("coop", (1, 2))]
    build(store, only, name="one", settings=("coop",))
    out = tmp_path / "out"
    export_run(store, "one", out)
    summary = json.loads((out / "one-coop" / "summary.json").read_text())
    assert summary["results"] == [
        {"task": "demo_task/7/1,2", "status": "done", "cost": 0.5, "eval": "pass"}]
    assert (summary["total_tasks"], summary["completed"], summary["pass_rate"]) == (1, 1, 1.0)
    evaluations = json.loads((out / "one-coop" / "eval_summary.json").read_text())
    assert evaluations["results"] == [{"run": "demo_task/7/1,2", "status": "pass"}]


def test_a_setting_with_nothing_finished_gets_only_config_json(store, tmp_path):
    build(store, [Spec("solo", (1, 2), state="queued"),
                  Spec("solo", (1, 3), state="running", workers=("w1:1",), start=1)],
          name="early", settings=("solo",))
    out = tmp_path / "out"
    export_run(store, "early", out)
    assert sorted(p.name for p in (out / "early-solo").iterdir()) == ["config.json"]
    config = json.loads((out / "early-solo" / "config.json").read_text())
    check_schema(config, CONFIG)
    assert (config["concurrency"], config["total_tasks"]) == (1, 2)


def test_config_json_lists_every_deviation_of_the_run(store, tmp_path):
    """A run unlike upstream in every way config.json can tell: the oracle agent, other
    limits, the extended filter, a run enqueued before the network option (read as no
    network). Listed in run_deviations' order, each with upstream's value. The test-run
    limit is each worker's own: eval.json says which applied, config.json does not."""
    build(store, [Spec("solo", (1, 2), state="queued")], name="odd", settings=("solo",),
          agent="oracle", step_limit=50, cost_limit_usd=1.5,
          config={"test_filter": "extended", "eval_timeout_s": 900.0})
    out = tmp_path / "out"
    export_run(store, "odd", out)
    config = json.loads((out / "odd-solo" / "config.json").read_text())
    check_schema(config, CONFIG)
    assert config["deviations"] == [
        {"option": "agent", "value": "oracle", "upstream": "mini_swe_agent_v2",
         "why": WHY["agent"]},
        {"option": "step_limit", "value": 50, "upstream": 100, "why": WHY["step_limit"]},
        {"option": "cost_limit_usd", "value": 1.5, "upstream": 3.0, "why": WHY["cost_limit_usd"]},
        {"option": "test_filter", "value": "extended", "upstream": "upstream",
         "why": WHY["test_filter"]},
        {"option": "sandbox_network", "value": "none", "upstream": "default",
         "why": WHY["sandbox_network"]},
    ]


def test_a_run_as_upstream_runs_lists_no_deviation(store, tmp_path):
    """Upstream's agent, limits, network, filter and timeout: nothing to list."""
    build(store, [Spec("coop", (1, 2), state="queued")], name="plain", settings=("coop",),
          agent="mini_swe_agent_v2",
          config={"sandbox_network": "default", "test_filter": "upstream", "eval_timeout_s": 600.0})
    out = tmp_path / "out"
    export_run(store, "plain", out)
    assert json.loads((out / "plain-coop" / "config.json").read_text())["deviations"] == []
