"""Every file of an export validated against JSON Schemas written from the CooperBench
reference (``/work/shared/docs/cooperbench-reference.md``, sections 3.6 and 5.1-5.9) and,
where the two differ, from the installed ``cooperbench`` 0.0.29 that the reference defers to
(its ``eval/sandbox.py``: no union merge, the lead-alone and identical results), plus
coopbench's own keys (``deviations``, eval.json's ``test_filter``); kept in ``schemas/``.
The export is the synthetic run of ``synthetic_run.py`` in a real store (SQLite and
PostgreSQL).

A file of the export that no schema covers fails the test, so a new file gets a schema.
"""

import copy
import json
import re
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator, validators

from coopbench.export.run_export import MANIFEST_NAME

SCHEMAS = Path(__file__).parent / "schemas"

# Files that are not CooperBench JSON and so have no schema: the patches are plain text
# (reference 5), and the manifest is coopbench's own file (tests/export/test_manifest.py).
NO_SCHEMA = {"*.patch": "plain text (reference 5)",
             MANIFEST_NAME: "coopbench's own manifest, not an upstream file",
             "*.atif.json": "ATIF, not CooperBench: harbor's validator, tests/export/test_atif.py"}

def _strict_int(checker, instance) -> bool:
    """A JSON integer only: 2020-12's "integer" also takes 1.0, and the reference's counts are ints."""
    return isinstance(instance, int) and not isinstance(instance, bool)


StrictValidator = validators.extend(
    Draft202012Validator,
    type_checker=Draft202012Validator.TYPE_CHECKER.redefine("integer", _strict_int))


def validator(name: str) -> Draft202012Validator:
    schema = json.loads((SCHEMAS / name).read_text())
    Draft202012Validator.check_schema(schema)
    return StrictValidator(schema)


def schema_for(path: Path, body: object) -> str:
    """The schema of an exported file, by its name (and, for result/eval, its ``setting``)."""
    name = path.name
    if name in ("result.json", "eval.json"):
        setting = body.get("setting") if isinstance(body, dict) else None
        return f"{path.stem}_{setting}.json"  # unknown setting -> no such schema -> fails
    if name == "solo_traj.json" or re.fullmatch(r"agent\d+_traj\.json", name):
        return "trajectory.json"
    if name in ("config.json", "summary.json", "eval_summary.json", "conversation.json"):
        return name
    raise AssertionError(f"{path}: no schema for this file; add one to {SCHEMAS}")


def exported_files(out: Path) -> dict[Path, str]:
    """Every file of the export with its schema's name (None for the files without one)."""
    found = {}
    for path in sorted(p for p in out.rglob("*") if p.is_file()):
        if (path.name == MANIFEST_NAME and path.parent == out or path.suffix == ".patch"
                or path.name.endswith(".atif.json")):
            found[path] = None
            continue
        found[path] = schema_for(path, json.loads(path.read_text()))
    return found


def errors(schema: str, body: object) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
            for e in validator(schema).iter_errors(body)]


def test_the_schemas_are_valid_draft_2020_12():
    names = sorted(p.name for p in SCHEMAS.glob("*.json"))
    assert names == sorted([
        "config.json", "conversation.json", "eval_coop.json", "eval_solo.json",
        "eval_summary.json", "result_coop.json", "result_solo.json", "summary.json",
        "trajectory.json"])
    for name in names:
        schema = json.loads((SCHEMAS / name).read_text())
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        Draft202012Validator.check_schema(schema)


def test_every_exported_file_matches_its_schema(exported):
    _, out = exported
    files = exported_files(out)
    used = {s for s in files.values() if s}
    # The synthetic run has every kind of file the export writes, both settings of each.
    assert used == {"config.json", "summary.json", "eval_summary.json", "conversation.json",
                    "result_coop.json", "result_solo.json", "eval_coop.json", "eval_solo.json",
                    "trajectory.json"}
    assert any(p.suffix == ".patch" for p, s in files.items() if s is None)
    failures = {}
    for path, schema in files.items():
        if schema is None or schema == "trajectory.json":  # trajectories: the test below
            continue
        problems = errors(schema, json.loads(path.read_text()))
        if problems:
            failures[str(path.relative_to(out))] = problems
    assert not failures, json.dumps(failures, indent=2)


def test_every_exported_trajectory_matches_the_reference(exported):
    _, out = exported
    trajectories = [p for p, s in exported_files(out).items() if s == "trajectory.json"]
    assert trajectories
    failures = {str(p.relative_to(out)): errors("trajectory.json", json.loads(p.read_text()))
                for p in trajectories}
    assert not any(failures.values()), json.dumps(failures, indent=2)


def test_a_file_without_a_schema_is_an_error(tmp_path):
    with pytest.raises(AssertionError, match="no schema"):
        schema_for(tmp_path / "agent1_full_traj.json", {})
    (tmp_path / "notes.json").write_text("{}")
    with pytest.raises(AssertionError, match="no schema"):
        exported_files(tmp_path)
    assert schema_for(tmp_path / "result.json", {"setting": "coop-nocomm"}) == "result_coop-nocomm.json"
    assert not (SCHEMAS / "result_coop-nocomm.json").exists()  # so validation cannot pass


# Negative checks: the schemas reject what the reference rules out.

def _one(out: Path, name: str, setting: str | None = None) -> dict:
    for path in sorted(out.rglob(name)):
        body = json.loads(path.read_text())
        if setting is None or body.get("setting") == setting:
            return body
    raise AssertionError(f"no {name} ({setting}) in the export")


def _rejected(schema: str, body: object) -> bool:
    return bool(errors(schema, body))


def test_the_schemas_are_not_vacuous(exported):
    _, out = exported
    coop, solo = _one(out, "result.json", "coop"), _one(out, "result.json", "solo")
    assert not _rejected("result_coop.json", coop) and not _rejected("result_solo.json", solo)

    def bad(schema: str, body: dict, change) -> bool:
        body = copy.deepcopy(body)
        change(body)
        return _rejected(schema, body)

    agent = next(iter(coop["agents"]))
    assert bad("result_coop.json", coop, lambda b: b.update(features="1,2"))
    assert bad("result_coop.json", coop, lambda b: b.update(features=[1, 2, 3]))
    assert bad("result_coop.json", coop, lambda b: b.pop("messages_sent"))
    assert bad("result_coop.json", coop, lambda b: b.update(setting="coop-nocomm"))
    assert bad("result_coop.json", coop, lambda b: b["agents"][agent].update(input_tokens=1.0))
    assert bad("result_coop.json", coop, lambda b: b["agents"][agent].update(status="Done"))
    assert bad("result_coop.json", coop, lambda b: b.update(started_at=1777630000.0))
    assert bad("result_coop.json", coop, lambda b: b.update(total_cost="0.5"))
    assert bad("result_solo.json", solo, lambda b: b.update(messages_sent=0))
    assert bad("result_solo.json", solo, lambda b: b["agent"].pop("patch_lines"))
    assert _rejected("result_solo.json", coop) and _rejected("result_coop.json", solo)

    ev = _one(out, "eval.json", "coop")
    assert ev["merge"]["status"] == "clean" and not _rejected("eval_coop.json", ev)
    assert bad("eval_coop.json", ev, lambda b: b["merge"].update(status="merged"))
    assert bad("eval_coop.json", ev, lambda b: b["merge"].update(strategy="ours"))
    assert bad("eval_coop.json", ev, lambda b: b["merge"].update(strategy="union"))  # not in 0.0.29
    assert bad("eval_coop.json", ev, lambda b: b["merge"].update(strategy="solo-agent1"))
    assert bad("eval_coop.json", ev, lambda b: b["apply_status"].update(agent1="ok"))
    assert bad("eval_coop.json", ev, lambda b: b["apply_status"].update(agent2="failed"))
    assert bad("eval_coop.json", ev, lambda b: b["feature1"].update(tests_passed="1"))
    assert bad("eval_coop.json", ev, lambda b: b["feature1"].update(feature_id=None))  # half an error shape
    assert bad("eval_coop.json", ev, lambda b: b["feature1"].update(exit_code=1))  # passed needs 0
    assert bad("eval_coop.json", ev, lambda b: b.update(both_passed=False))
    assert bad("eval_coop.json", ev, lambda b: b.update(error="boom"))
    assert bad("eval_coop.json", ev, lambda b: b.pop("test_filter"))
    assert bad("eval_coop.json", ev, lambda b: b.update(deviations=[]))  # its extended filter
    assert bad("eval_coop.json", ev, lambda b: b["deviations"][0].pop("why"))
    solo_ev = _one(out, "eval.json", "solo")
    assert not _rejected("eval_solo.json", solo_ev)
    assert bad("eval_solo.json", solo_ev, lambda b: b.update(apply_status={}))
    assert bad("eval_solo.json", solo_ev, lambda b: b["feature1"].update(exit_code=0))
    assert bad("eval_solo.json", solo_ev, lambda b: b.update(merge={"status": "clean"}))
    assert bad("eval_solo.json", solo_ev, lambda b: b.update(test_filter="upstream"))  # still listed
    assert bad("eval_solo.json", solo_ev, lambda b: b.pop("deviations"))

    summary = _one(out, "summary.json")
    assert bad("summary.json", summary, lambda b: b["results"][0].update(status="passed"))
    assert bad("summary.json", summary, lambda b: b["results"][0].update(eval="skip"))
    assert bad("summary.json", summary, lambda b: b.update(pass_rate=None))  # with an eval block
    eval_summary = _one(out, "eval_summary.json")
    assert bad("eval_summary.json", eval_summary,
               lambda b: b["results"].append({"task": "r/1/1,2", "status": "pass"}))
    config = _one(out, "config.json")
    assert bad("config.json", config, lambda b: b.update(setting="coop-nocomm"))
    assert bad("config.json", config, lambda b: b.pop("deviations"))
    assert bad("config.json", config, lambda b: b["deviations"][0].update(option="colour"))
    assert bad("config.json", config, lambda b: b["deviations"][0].update(upstream="claude_code"))
    assert bad("config.json", config, lambda b: b["deviations"].append({
        "option": "sandbox_network", "value": "default", "upstream": "default", "why": "?"}))
    assert _rejected("conversation.json", [{"from": "agent1", "to": "agent2", "message": "hi",
                                            "timestamp": None, "feature_id": "1"}])
    assert _rejected("conversation.json", {"messages": []})


def _coop_evals(out: Path) -> dict[tuple, dict]:
    """The coop eval.json files by (merge status, strategy)."""
    found = {}
    for path in out.rglob("eval.json"):
        body = json.loads(path.read_text())
        if body["setting"] == "coop":
            found[body["merge"]["status"], body["merge"]["strategy"]] = body
    return found


def test_every_merge_outcome_of_upstream_is_exported_and_held_to_its_shape(exported):
    """0.0.29's test_merged has five outcomes, each with its own feature blocks; the
    synthetic run exports them all, so each passes the schema and each misshaped one fails."""
    _, out = exported
    evals = _coop_evals(out)
    assert set(evals) == {("clean", "naive"), ("conflicts", "solo-agent1"), ("conflicts", "naive"),
                          ("missing_input", "naive"), ("identical", "skip-merge-identical"),
                          ("error", None)}
    assert not any(_rejected("eval_coop.json", body) for body in evals.values())

    def bad(key: tuple, change) -> bool:
        body = copy.deepcopy(evals[key])
        change(body)
        return _rejected("eval_coop.json", body)

    # The lead's patch alone counts only when it passed both features.
    lead = ("conflicts", "solo-agent1")
    assert bad(lead, lambda b: b.update(both_passed=False))
    assert bad(lead, lambda b: b["feature2"].update(passed=False, exit_code=1))
    assert bad(lead, lambda b: b["apply_status"].update(agent1="skipped"))
    # Otherwise neither feature was tested: upstream's placeholders, with the feature ids.
    naive = ("conflicts", "naive")
    assert evals[naive]["feature1"]["exit_code"] is None
    assert bad(naive, lambda b: b["feature1"].update(passed=True))
    assert bad(naive, lambda b: b["feature1"].update(exit_code=0))
    assert bad(naive, lambda b: b["merge"].update(strategy="skip-merge-identical"))
    missing = ("missing_input", "naive")
    assert bad(missing, lambda b: b["apply_status"].update(agent2="applied"))  # nothing missing
    # Identical patches: the runner's own results, and only for this status.
    identical = ("identical", "skip-merge-identical")
    assert set(evals[identical]["feature1"]) == {"passed", "output", "exit_code", "tests_passed",
                                                 "tests_failed"}
    assert bad(identical, lambda b: b["feature1"].update(feature_id=1))
    assert bad(identical, lambda b: b.update(feature1=evals[("clean", "naive")]["feature1"]))
    assert bad(identical, lambda b: b["merge"].update(strategy="naive"))
    assert bad(identical, lambda b: b["feature2"].update(  # both_passed says otherwise
        passed=True, exit_code=0, tests_passed=1))
    # An error: the error shape throughout, apply status unknown.
    error = ("error", None)
    assert evals[error]["error"].startswith("Failed to write patch1.patch")
    assert bad(error, lambda b: b["apply_status"].update(agent1="applied", agent2="applied"))
    assert bad(error, lambda b: b.update(error=None))
    assert bad(error, lambda b: b["merge"].update(strategy="naive"))
    assert bad(error, lambda b: b["feature1"].update(feature_id=2))


def test_the_trajectory_schema_takes_the_reference_shape_only():
    messages = [{"role": "system", "content": "…"}, {"role": "user", "content": "task"},
                {"role": "exit", "content": "", "extra": {"exit_status": "Submitted", "submission": ""}}]
    coop = {"repo": "pallets_click_task", "task_id": 2068, "feature_id": 1, "agent_id": "agent1",
            "model": "vertex_ai/gemini-3-flash-preview", "status": "Submitted", "cost": 0.12,
            "steps": 3, "messages": messages}
    solo = {**{k: v for k, v in coop.items() if k != "feature_id"}, "features": [1, 2],
            "agent_id": "solo"}
    assert not errors("trajectory.json", coop) and not errors("trajectory.json", solo)
    assert _rejected("trajectory.json", messages)  # what coopbench writes today
    assert _rejected("trajectory.json", {**coop, "features": [1, 2]})
    assert _rejected("trajectory.json", {**solo, "agent_id": "agent1"})
    assert _rejected("trajectory.json", {**coop, "messages": [{"role": "bot", "content": ""}]})
