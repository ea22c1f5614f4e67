"""``coopbench gold-check`` on the demo dataset, through real workers, against the
conflicts worked out by hand (coopbench/dataset/demo/README.md) and upstream's report schema."""

import json

import pytest

from coopbench.dataset.tasks import demo_dataset_path

# ledger 1+2 rewrite the same lines; ledger 3+4 append at the same place; textkit 1+2
# rewrite the same regex. Every other pair of the 12 touches different lines.
CONFLICTS = [("ledger_task", 0, 1, 2), ("ledger_task", 0, 3, 4), ("textkit_task", 1, 1, 2)]


# About the merge and the report: one database (the default SQLite) is enough.
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_gold_check_on_the_demo_dataset_matches_the_hand_worked_conflicts(
        cli, demo_images, fixtures_dir, tmp_path):
    report_file = tmp_path / "gold.json"
    args = ["gold-check", "--dataset", str(demo_dataset_path()), "--out", str(report_file),
            "--image-template", demo_images, "--local-workers", "2", "--timeout", "300"]
    result = cli(*args, timeout=400)
    assert result.returncode == 0, result.stderr + result.stdout
    assert "12 pairs: 3 conflict, 9 clean, 0 errors (25.0%)" in result.stdout
    report = json.loads(report_file.read_text())

    conflicts = sorted((p["repo"], p["task_id"], p["f1"], p["f2"]) for p in report["conflict_pairs"])
    assert conflicts == CONFLICTS
    assert report["per_task"] == {
        "ledger_task/task0": {"total": 6, "conflicts": 2, "clean": 4, "errors": 0},
        "textkit_task/task1": {"total": 6, "conflicts": 1, "clean": 5, "errors": 0},
    }
    assert len(report["all_results"]) == 12
    for entry in report["all_results"]:
        expected = (entry["repo"], entry["task_id"], entry["f1"], entry["f2"]) in CONFLICTS
        assert entry["has_conflict"] is expected and entry["f1"] < entry["f2"]
        assert entry["patch1_apply_failed"] is False and entry["patch2_apply_failed"] is False
        assert entry["error"] is None

    # Upstream's own report names the keys and types analysis scripts read.
    upstream = json.loads((fixtures_dir / "gold_conflict_report.json").read_text())
    assert report.keys() == upstream.keys()
    assert report["summary"].keys() == upstream["summary"].keys()
    assert all(type(report["summary"][k]) is type(v) or {type(report["summary"][k]), type(v)} <= {int, float}
               for k, v in upstream["summary"].items())
    assert report["all_results"][0].keys() == upstream["all_results"][0].keys()
    assert report["conflict_pairs"][0].keys() == upstream["conflict_pairs"][0].keys()
    task_counts = next(iter(upstream["per_task"].values()))
    assert report["per_task"]["ledger_task/task0"].keys() == task_counts.keys()

    # The same command again resumes the same run: nothing re-checked, the same report.
    again = cli(*args, timeout=400)
    assert again.returncode == 0, again.stderr
    assert "12 pairs (12 already checked), 0 published" in again.stdout
    assert json.loads(report_file.read_text())["all_results"] == report["all_results"]
