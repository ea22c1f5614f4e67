"""Per-job files of an export: layout, result.json's run name and log_dir as upstream writes
them, and each agent's tokens as the job's end recorded them."""

import json
from pathlib import Path

from coopbench.export.run_export import export_run
from coopbench.job.setting import job_id
from coopbench.store import Job
from tests.export.synthetic_run import RUN, WRITE_FAILED, build

TOKENS = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")


def test_files_are_written_for_done_jobs_only(exported):
    manifest, out = exported
    dirs = {(e["setting"], tuple(e["features"])): e["dir"] for e in manifest["jobs"]}
    assert dirs[("solo", (3, 2))] == f"{RUN}-solo/solo/demo_task/7/f2_f3"
    assert dirs[("coop-nocomm", (1, 3))] == f"{RUN}-coop-nocomm/coop/demo_task/7/f1_f3"
    for key in (("solo", (3, 4)), ("coop", (2, 4)), ("coop", (3, 4)), ("coop-nocomm", (2, 3))):
        assert dirs[key] is None  # failed, failed_infra, queued, running
    written = {str(p.parent.relative_to(out)) for p in out.rglob("result.json")}
    assert written == {d for d in dirs.values() if d}
    coop = out / dirs[("coop", (2, 3))]
    # eval.json is the evaluation's only file: 0.0.29's procedure leaves no merge log
    assert sorted(p.name for p in coop.iterdir()) == [
        "agent2.patch", "agent2_traj.atif.json", "agent2_traj.json", "agent3.patch",
        "agent3_traj.atif.json", "agent3_traj.json", "conversation.json", "eval.json",
        "job.atif.json", "result.json"]
    evaluation = json.loads((coop / "eval.json").read_text())
    assert (evaluation["merge"]["status"], evaluation["error"]) == ("error", WRITE_FAILED)
    identical = out / dirs[("coop-nocomm", (1, 4))]
    assert (identical / "agent1.patch").read_text() == (identical / "agent4.patch").read_text()
    merge = json.loads((identical / "eval.json").read_text())["merge"]
    assert (merge["status"], merge["strategy"]) == ("identical", "skip-merge-identical")


def test_result_json_is_the_stored_outcome_with_upstreams_run_name_and_log_dir(exported, store):
    manifest, out = exported
    dirs = {(e["setting"], tuple(e["features"])): e["dir"] for e in manifest["jobs"]}
    solo = json.loads((out / dirs[("solo", (1, 2))] / "result.json").read_text())
    coop = json.loads((out / dirs[("coop", (1, 2))] / "result.json").read_text())
    assert [solo["agent"][f] for f in TOKENS] == [5000, 800, 100, 20]
    assert [coop["agents"]["agent1"][f] for f in TOKENS] == [1200, 340, 50, 7]
    assert [coop["agents"]["agent2"][f] for f in TOKENS] == [900, 200, 0, 0]
    other = json.loads((out / dirs[("coop", (1, 3))] / "result.json").read_text())
    assert all(type(a[f]) is int and a[f] == 0 for a in other["agents"].values() for f in TOKENS)

    # result.json as stored, but for run_name and log_dir; the stored value is untouched
    # (its run_name is the store's run).
    with store.session() as session:
        stored = session.get(Job, job_id(RUN, "demo_task", 7, (1, 2), "coop")).result
    assert stored["run_name"] == RUN
    assert coop == {**stored, "run_name": f"{RUN}-coop",
                    "log_dir": str(out / f"{RUN}-coop/coop/demo_task/7/f1_f2")}


def test_run_name_and_log_dir_are_upstreams_folder_and_path(exported):
    """Upstream's result.json names the run folder it sits in, and its log_dir is that
    folder's path under the logs root as given (reference 5.2)."""
    manifest, out = exported
    assert out.is_absolute()  # tmp_path: so every log_dir is absolute too
    checked = set()
    for entry in manifest["jobs"]:
        if entry["dir"] is None:
            continue
        result = json.loads((out / entry["dir"] / "result.json").read_text())
        folder = f"{RUN}-{entry['setting']}"  # syn-coop-nocomm too, not "syn-coop"
        assert result["run_name"] == folder == Path(entry["dir"]).parts[0]
        assert result["log_dir"] == str(out / entry["dir"])
        checked.add(entry["setting"])
    assert checked == {"solo", "coop", "coop-nocomm"}


def test_a_relative_out_gives_relative_log_dirs_upstreams_eval_finds(store, tmp_path, monkeypatch):
    """``export --out export/today`` in a directory: log_dir is relative to it, as upstream's
    runner writes it for a relative ``--log-dir``, and it is the path upstream's own run
    discovery (what ``cooperbench eval`` reads the files from) gives each pair."""
    from cooperbench.eval.runs import discover_runs  # takes seconds: this test only

    build(store)
    monkeypatch.chdir(tmp_path)
    out = Path("export/today")
    manifest = export_run(store, RUN, out)
    found = {}
    for setting in ("solo", "coop", "coop-nocomm"):
        for run in discover_runs(run_name=f"{RUN}-{setting}", logs_dir=out):
            found[setting, tuple(run["features"])] = run["log_dir"]
    dirs = {(e["setting"], tuple(sorted(e["features"]))): e["dir"] for e in manifest["jobs"]
            if e["dir"]}
    assert sorted(found) == sorted(dirs)  # upstream finds every exported pair
    for key, log_dir in found.items():
        result = json.loads((Path(log_dir) / "result.json").read_text())  # from the cwd
        assert result["log_dir"] == log_dir == f"export/today/{dirs[key]}"
        assert not Path(result["log_dir"]).is_absolute() and Path(result["log_dir"]).is_dir()
        assert (tmp_path / result["log_dir"] / "eval.json").is_file()


def test_no_atif_writes_the_same_files_without_the_atif_ones(exported, store, tmp_path):
    _, out = exported
    bare = tmp_path / "bare"
    export_run(store, RUN, bare, atif=False)

    def files(root: Path) -> dict[str, bytes]:
        return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()
                and p.name not in ("results-manifest.json", "result.json")}  # time, log_dir

    with_atif, without = files(out), files(bare)
    assert {name for name in with_atif if name.endswith(".atif.json")}
    assert without == {name: data for name, data in with_atif.items() if not name.endswith(".atif.json")}
