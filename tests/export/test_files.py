"""Output files are written whole or not at all."""

import json

from coopbench.export.files import write_atomic, write_files, write_json


def test_a_file_is_replaced_whole_and_no_temporary_is_left(tmp_path):
    target = tmp_path / "deep" / "result.json"
    write_json(target, {"a": 1})
    write_atomic(target, "x" * 100_000)
    assert target.read_text() == "x" * 100_000
    write_atomic(target, b"\x00bytes")
    assert target.read_bytes() == b"\x00bytes"
    write_json(target, {"b": [1, 2]})
    assert json.loads(target.read_text()) == {"b": [1, 2]}
    assert sorted(p.name for p in target.parent.iterdir()) == ["result.json"]


def test_a_job_folder_is_written_in_one_call_with_its_subfolders(tmp_path):
    folder = tmp_path / "run-solo" / "solo" / "repo" / "1" / "f1_f2"
    write_files(folder, {"result.json": b"{}", "logs/agent.log": b"x"})
    write_files(folder, {"result.json": b"[]"})  # a second export replaces the file
    assert (folder / "result.json").read_bytes() == b"[]"
    assert (folder / "logs" / "agent.log").read_bytes() == b"x"
    assert sorted(p.name for p in folder.iterdir()) == ["logs", "result.json"]
