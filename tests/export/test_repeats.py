"""A run with ``enqueue --repeats``: the synthetic run of ``synthetic_run.py`` and a second
repeat of its solo and coop pairs, in a real store (SQLite and PostgreSQL), exported."""

import dataclasses
import json

import pytest

from coopbench.export.intervals import pair_bootstrap_mean, pair_bootstrap_rate, pass_at_k
from coopbench.export.report import tables
from coopbench.export.report.data import load_report_data
from coopbench.export.report.html import render_page
from coopbench.export.report.plots import PLOTS
from coopbench.export.run_export import MANIFEST_NAME, export_run
from coopbench.export.summary_table import format_figure
from tests.export.synthetic_run import RUN, SPECS, build

# The second repeat: solo 1,3 now passes and 1,4 fails; coop 1,2 now fails; the others
# repeat their first outcome. coop 3,4 (queued) and the failed jobs have no second run.
FLIPPED = {("solo", (1, 3)): True, ("solo", (1, 4)): False, ("coop", (1, 2)): False}
SECOND = [dataclasses.replace(s, repeat=2, both=FLIPPED.get((s.setting, s.features), s.both),
                              merge=("conflicts" if (s.setting, s.features) == ("coop", (1, 2))
                                     else s.merge))
          for s in SPECS if s.setting in ("solo", "coop") and s.state == "done"]


@pytest.fixture
def repeated(store, tmp_path):
    build(store, SPECS + SECOND)
    out = tmp_path / "export"
    return export_run(store, RUN, out), out


def _pair_results(setting: str) -> dict[tuple, list[bool]]:
    """Per pair, what its runs that count toward success gave (errors fail; queued and
    running jobs do not count), from the specs themselves."""
    results: dict[tuple, list[bool]] = {}
    for spec in SPECS + SECOND:
        if spec.setting == setting and spec.state in ("done", "failed", "failed_infra"):
            passed = spec.state == "done" and spec.both and not spec.eval_error
            results.setdefault(tuple(sorted(spec.features)), []).append(passed)
    return results


def test_each_setting_says_its_repeats_interval_and_pass_at_k(repeated):
    manifest, _ = repeated
    solo = manifest["settings"]["solo"]
    runs = _pair_results("solo")
    wins, tries = [sum(r) for r in runs.values()], [len(r) for r in runs.values()]
    assert solo["repeats"] == 2
    assert solo["success_rate"] == round(sum(wins) / sum(tries), 4)
    low, high = pair_bootstrap_rate(wins, tries)
    assert solo["success_interval"] == {"level": 0.95, "method": "pair-bootstrap",
                                        "low": round(low, 4), "high": round(high, 4),
                                        "pairs": 6, "runs": 11}  # 3,4 failed once: one run
    # pass@k up to the fewest runs of a pair: 3,4 has one.
    assert solo["pass_at_k"] == {"1": round(sum(pass_at_k(n, c, 1) for n, c in zip(tries, wins)) / 6, 4)}
    # coop-nocomm had no repeat: Wilson over its pairs, no pass@k.
    nocomm = manifest["settings"]["coop-nocomm"]
    assert nocomm["repeats"] == 1 and nocomm["success_interval"]["method"] == "wilson"
    assert "pass_at_k" not in nocomm


def test_pass_at_k_counts_each_pair_once_over_its_repeats(store, tmp_path):
    done_twice = [s for s in SPECS + SECOND if s.setting == "solo" and s.state == "done"]
    build(store, done_twice, name="twice", settings=("solo",))
    solo = export_run(store, "twice", tmp_path / "out")["settings"]["solo"]
    # 1,2  2,3  2,4 pass twice; 1,3 and 1,4 pass once of two.
    assert solo["pass_at_k"] == {"1": round((3 + 0.5 + 0.5) / 5, 4), "2": 1.0}


def test_the_gap_weighs_each_pair_by_its_share_of_passing_runs(repeated):
    manifest, _ = repeated
    gap = manifest["coordination_gap"]["coop"]
    # Done in both, per pair (solo runs / coop runs): 1,2 (1,1 / 1,0)  1,3 (0,1 / 1,1)
    # 1,4 (1,0 / 0,0)  2,3 (1,1 / 0,0).
    solo, coop = [1.0, 0.5, 0.5, 1.0], [0.5, 1.0, 0.0, 0.0]
    low, high = pair_bootstrap_mean([a - b for a, b in zip(solo, coop)])
    assert gap == {"pairs": 4, "solo_success": 0.75, "coop_success": 0.375, "gap": 0.375,
                   "gap_interval": {"level": 0.95, "method": "pair-bootstrap",
                                    "low": round(low, 4), "high": round(high, 4)}}


def test_each_repeat_is_an_upstream_run_folder_of_its_own(repeated):
    manifest, out = repeated
    first, second = out / f"{RUN}-solo", out / f"{RUN}-solo-r2"
    assert json.loads((first / "config.json").read_text())["run_name"] == f"{RUN}-solo"
    assert json.loads((second / "config.json").read_text())["run_name"] == f"{RUN}-solo-r2"
    assert json.loads((first / "summary.json").read_text())["total_tasks"] == 6
    assert json.loads((second / "summary.json").read_text())["total_tasks"] == 5
    entries = [j for j in manifest["jobs"] if j["setting"] == "solo" and j["features"] == [1, 3]]
    assert sorted((j["repeat"], j["dir"], j["both_passed"]) for j in entries) == [
        (1, f"{RUN}-solo/solo/demo_task/7/f1_f3", False),
        (2, f"{RUN}-solo-r2/solo/demo_task/7/f1_f3", True)]
    for entry in entries:
        result = json.loads((out / entry["dir"] / "result.json").read_text())
        assert result["run_name"] == entry["dir"].split("/")[0]
    assert not (out / f"{RUN}-coop-nocomm-r2").exists()
    assert json.loads((out / MANIFEST_NAME).read_text()) == manifest


def test_the_report_shows_the_intervals_and_each_repeat(repeated, store):
    manifest, _ = repeated
    data = load_report_data(store, RUN)
    certainty = tables.certainty_table(data)
    assert [c.text for c in certainty.head] == ["setting", "repeats", "pairs", "runs", "success",
                                                "95% interval", "method", "pass@1"]
    solo = manifest["settings"]["solo"]
    interval = solo["success_interval"]
    assert [c.text for c in certainty.rows[0]] == [
        "solo", "2", "6", "11", format_figure(solo["success_rate"], 3),
        f"{format_figure(interval['low'], 3)} to {format_figure(interval['high'], 3)}",
        "pair-bootstrap", format_figure(solo["pass_at_k"]["1"], 3)]
    assert certainty.rows[2][-1].text == ""  # coop-nocomm: one run per pair, no pass@k
    gap = manifest["coordination_gap"]["coop"]["gap_interval"]
    assert tables.gap_table(data).rows[0][5].text == (
        f"{format_figure(gap['low'], 3)} to {format_figure(gap['high'], 3)}")
    labels = {j.pair for j in data.jobs if j.setting == "solo"}
    assert {"demo_task/7 f1_f3", "demo_task/7 f1_f3 r2"} <= labels
    assert "95% interval" in render_page(data, {name: "not drawn here" for name in PLOTS})


def test_the_report_shows_every_paired_difference(repeated, store):
    manifest, _ = repeated
    table = tables.differences_table(load_report_data(store, RUN))
    assert [[c.text for c in row[:3]] for row in table.rows] == [
        [d["first"], d["second"], str(d["pairs"])] for d in manifest["paired_differences"]]
    interval = manifest["paired_differences"][0]["interval"]
    assert table.rows[0][-1].text == f"{format_figure(interval['low'], 3)} to {format_figure(interval['high'], 3)}"
