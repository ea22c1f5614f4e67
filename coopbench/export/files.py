"""The one way coopbench writes an output file: whole or not at all.

A reader (an analysis script, a browser, a second export) never sees half a file: the text
goes to a hidden temporary next to the target, then replaces it in one rename.
"""

import json
import os
from pathlib import Path


def write_atomic(path: Path, data: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    if isinstance(data, bytes):
        temporary.write_bytes(data)
    else:
        temporary.write_text(data, encoding="utf-8")
    os.replace(temporary, path)


def write_json(path: Path, value: object) -> None:
    write_atomic(path, json.dumps(value, indent=2, default=str))
