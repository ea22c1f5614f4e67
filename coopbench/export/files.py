"""The one way coopbench writes an output file: whole or not at all.

A reader (an analysis script, a browser, a second export) never sees half a file: the text
goes to a hidden temporary next to the target, then replaces it in one rename.
"""

import json
import os
from pathlib import Path


def write_atomic(path: Path, data: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_whole(str(path), data.encode("utf-8") if isinstance(data, str) else data)


def write_json(path: Path, value: object) -> None:
    write_atomic(path, json_bytes(value))


def json_bytes(value: object) -> bytes:
    """How every JSON file is written: indented, ASCII (so the bytes are the text)."""
    return json.dumps(value, indent=2, default=str).encode("ascii")


def compact_json_bytes(value: object) -> bytes:
    """JSON for machines (the ATIF files): no indent, so that json's C encoder writes it,
    several times faster than the pure-Python one ``indent`` needs."""
    return json.dumps(value, separators=(",", ":"), default=str).encode("ascii")


def write_files(directory: Path, files: dict[str, bytes]) -> None:
    """Write several files into one directory, each as ``write_atomic`` would. The directory
    is made once, not once per file: an export writes tens of thousands of files, and a
    ``mkdir`` per file was a good part of its time. A name may hold a subfolder ("a/b.log")."""
    folder = str(directory)
    os.makedirs(folder, exist_ok=True)
    for name, data in files.items():
        path = os.path.join(folder, name)
        if "/" in name:
            os.makedirs(os.path.dirname(path), exist_ok=True)
        _write_whole(path, data)


def _write_whole(path: str, data: bytes) -> None:
    # Plain strings and one open + write: pathlib's per-call parsing costs more than the
    # write itself for the small files an export is made of.
    head, tail = os.path.split(path)
    temporary = os.path.join(head, f".{tail}.tmp")
    with open(temporary, "wb") as file:
        file.write(data)
    os.replace(temporary, path)

