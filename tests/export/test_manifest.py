"""Per-setting metrics and the coordination gap in ``results-manifest.json``, from the
synthetic run of ``synthetic_run.py`` in a real store (SQLite and PostgreSQL)."""

import json

from sqlalchemy import update

from coopbench.export.intervals import pair_bootstrap_mean
from coopbench.export.manifest import MANIFEST_VERSION
from coopbench.export.run_export import MANIFEST_NAME, export_run
from coopbench.store import AgentRun
from tests.export.synthetic_run import SPECS, build

EXISTING_KEYS = {
    "pairs", "done", "queued", "running", "agents", "submitted", "limits_exceeded",
    "agent_errors", "patches", "total_cost", "avg_cost", "avg_steps", "messages",
    "wall_time_seconds", "infra_errors", "config_errors", "eval_errors", "evaluated",
    "both_passed", "pass_rate",
}
NEW_KEYS = ("success_rate", "merge_clean", "merge_conflicts", "merge_lead_alone_passed",
            "merge_identical", "merge_missing_input", "merge_errors")
ACCOUNTING_KEYS = ("messages_received", "cost_unknown_agents", "input_tokens", "output_tokens",
                   "cache_read_tokens", "cache_write_tokens")


def _figures(manifest: dict, setting: str, keys) -> dict:
    return {key: manifest["settings"][setting][key] for key in keys}


def test_the_manifest_file_is_what_export_returns(exported):
    manifest, out = exported
    assert json.loads((out / MANIFEST_NAME).read_text()) == manifest
    assert list(manifest) == ["manifest_version", "exported_at", "run", "settings",
                              "coordination_gap", "paired_differences", "jobs"]
    # 2: merge_union_resolved is gone (0.0.29 has no union merge), a changed meaning
    assert manifest["manifest_version"] == MANIFEST_VERSION == 2
    assert list(manifest["settings"]) == ["solo", "coop", "coop-nocomm"]
    for figures in manifest["settings"].values():
        # pass_at_k only with repeats (tests/export/test_repeats.py)
        assert set(figures) == (EXISTING_KEYS | set(NEW_KEYS) | set(ACCOUNTING_KEYS)
                                | {"provider_wait_seconds", "repeats", "success_interval"})


def test_solo_figures(exported):
    manifest, _ = exported
    keys = ("done", "evaluated", "eval_errors", "infra_errors", "config_errors", "both_passed",
            "pass_rate", *NEW_KEYS)
    assert _figures(manifest, "solo", keys) == {
        "done": 5, "evaluated": 5, "eval_errors": 0, "infra_errors": 0,
        "config_errors": 1,  # 3,4
        "both_passed": 4,  # 1,2  2,3  1,4  2,4
        "pass_rate": 0.8,  # 4 / 5 evaluated
        "success_rate": 0.6667,  # 4 / (5 evaluated + 0 eval errors + 1 config failure)
        # solo has no merge
        "merge_clean": 0, "merge_conflicts": 0, "merge_lead_alone_passed": 0,
        "merge_identical": 0, "merge_missing_input": 0, "merge_errors": 0,
    }


def test_coop_figures(exported):
    manifest, _ = exported
    keys = ("pairs", "done", "queued", "running", "evaluated", "eval_errors", "infra_errors",
            "config_errors", "both_passed", "pass_rate", "total_cost", *NEW_KEYS)
    assert _figures(manifest, "coop", keys) == {
        "pairs": 6, "done": 4, "queued": 1, "running": 0,
        "evaluated": 3,  # 1,2  1,3  1,4 (2,3's evaluation errored)
        "eval_errors": 1,  # 2,3
        "infra_errors": 1,  # 2,4
        "config_errors": 0,
        "both_passed": 2,  # 1,2 (clean) and 1,3 (the lead's patch alone)
        "pass_rate": 0.6667,  # 2 / 3: the eval error is left out (upstream)
        "total_cost": 2.5,
        "success_rate": 0.4,  # 2 / (3 + 1 eval error + 1 infra failure); queued 3,4 left out
        "merge_clean": 1,  # 1,2
        # naive conflicted: 1,3 only; 2,3's procedure failed before any merge
        "merge_conflicts": 1,
        "merge_lead_alone_passed": 1,  # 1,3: strategy solo-agent1, status still conflicts
        "merge_identical": 0,
        "merge_missing_input": 1,  # 1,4 (its lead's patch alone failed: strategy naive)
        "merge_errors": 1,  # 2,3
    }


def test_coop_nocomm_figures(exported):
    manifest, _ = exported
    keys = ("pairs", "done", "running", "evaluated", "both_passed", "pass_rate", *NEW_KEYS)
    assert _figures(manifest, "coop-nocomm", keys) == {
        "pairs": 4, "done": 3, "running": 1, "evaluated": 3,
        "both_passed": 1,  # 1,2 (1,4's identical patch passed feature 1 only)
        "pass_rate": 0.3333,
        "success_rate": 0.3333,  # 1 / 3 finished; the running 2,3 is left out
        "merge_clean": 1,  # 1,2
        "merge_conflicts": 1,  # 1,3
        "merge_lead_alone_passed": 0,  # 1,3's lead's patch alone failed: strategy naive
        "merge_identical": 1,  # 1,4, not counted as clean
        "merge_missing_input": 0, "merge_errors": 0,
    }


def test_coordination_gap(exported):
    manifest, _ = exported
    intervals = {setting: gap.pop("gap_interval") for setting, gap in manifest["coordination_gap"].items()}
    assert manifest["coordination_gap"] == {
        # Done in solo and coop: 1,2  1,3  2,3  1,4 (coop 2,4 failed, coop 3,4 is queued,
        # solo 3,4 failed). Solo passes 1,2  2,3  1,4 -> 3/4; coop passes 1,2  1,3 -> 2/4
        # (2,3's evaluation error is a failure).
        "coop": {"pairs": 4, "solo_success": 0.75, "coop_success": 0.5, "gap": 0.25},
        # Done in both: 1,2  1,3  1,4 (2,3 is still running). Solo passes 1,2  1,4 -> 2/3;
        # coop-nocomm passes 1,2 -> 1/3.
        "coop-nocomm": {"pairs": 3, "solo_success": 0.6667, "coop_success": 0.3333,
                        "gap": 0.3333},
    }
    # The paired difference's interval is over the same pairs' differences, in pair order
    # (1,2  1,3  1,4  2,3): solo minus coop per pair.
    differences = {"coop": [0, -1, 1, 1], "coop-nocomm": [0, 0, 1]}
    for setting, values in differences.items():
        low, high = pair_bootstrap_mean(values)
        assert intervals[setting] == {"level": 0.95, "method": "pair-bootstrap",
                                      "low": round(low, 4), "high": round(high, 4)}
        assert low <= manifest["coordination_gap"][setting]["gap"] <= high


def test_every_two_settings_get_their_paired_difference(exported):
    manifest, _ = exported
    differences = {(d["first"], d["second"]): d for d in manifest["paired_differences"]}
    assert list(differences) == [("solo", "coop"), ("solo", "coop-nocomm"), ("coop", "coop-nocomm")]
    for setting, gap in manifest["coordination_gap"].items():  # solo's are the gap's figures
        solo = differences[("solo", setting)]
        assert (solo["pairs"], solo["first_success"], solo["second_success"], solo["difference"],
                solo["interval"]) == (gap["pairs"], gap["solo_success"], gap["coop_success"],
                                      gap["gap"], gap["gap_interval"])
    # Done in both: 1,2  1,3  1,4 (coop 2,3 is done, coop-nocomm 2,3 running). coop passes
    # 1,2  1,3 -> 2/3; coop-nocomm passes 1,2 -> 1/3.
    low, high = pair_bootstrap_mean([0, 1, 0])
    assert differences[("coop", "coop-nocomm")] == {
        "first": "coop", "second": "coop-nocomm", "pairs": 3, "first_success": 0.6667,
        "second_success": 0.3333, "difference": 0.3333,
        "interval": {"level": 0.95, "method": "pair-bootstrap", "low": round(low, 4),
                     "high": round(high, 4)}}


def test_no_coordination_gap_without_solo(store, tmp_path):
    build(store, [s for s in SPECS if s.setting != "solo"], name="nosolo",
          settings=("coop", "coop-nocomm"))
    manifest = export_run(store, "nosolo", tmp_path / "out")
    assert "coordination_gap" not in manifest
    assert list(manifest["settings"]) == ["coop", "coop-nocomm"]


def test_no_coordination_gap_without_a_pair_done_in_both(store, tmp_path):
    specs = [s for s in SPECS if (s.setting, s.features) in
             {("solo", (1, 2)), ("coop", (2, 4)), ("coop", (3, 4))}]
    build(store, specs, name="apart", settings=("solo", "coop"))
    manifest = export_run(store, "apart", tmp_path / "out")
    assert "coordination_gap" not in manifest


def test_token_sums_come_from_the_agent_runs(exported):
    manifest, _ = exported
    assert _figures(manifest, "solo", ACCOUNTING_KEYS[2:]) == {
        "input_tokens": 5000, "output_tokens": 800, "cache_read_tokens": 100, "cache_write_tokens": 20}
    assert _figures(manifest, "coop", ACCOUNTING_KEYS[2:]) == {
        "input_tokens": 2100, "output_tokens": 540, "cache_read_tokens": 50, "cache_write_tokens": 7}
    assert manifest["settings"]["coop"]["cost_unknown_agents"] == 0


def test_provider_wait_is_the_sum_over_the_agent_runs(store, tmp_path):
    build(store, SPECS, name="waits", settings=("solo", "coop"))
    with store.session() as session, session.begin():
        session.execute(update(AgentRun).values(provider_wait_s=1.25))
    manifest = export_run(store, "waits", tmp_path / "out")
    for figures in manifest["settings"].values():
        assert figures["provider_wait_seconds"] == round(1.25 * figures["agents"], 3)
