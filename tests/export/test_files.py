"""Output files are written whole or not at all."""

import json

from coopbench.export.files import write_atomic, write_json


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
