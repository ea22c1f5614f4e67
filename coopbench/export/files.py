"""The one way coopbench writes an output file: whole or not at all.

A reader (an analysis script, a browser, a second export) never sees half a file: the text
goes to a hidden temporary next to the target, then replaces it in one rename.
"""

import json
import os
from pathlib import Path

import orjson

# datetimes and dataclasses go to ``default=str``, as json sends them (orjson has its own form)
_LIKE_JSON = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC
# json.dumps(value, indent=2, default=str), without making an encoder per call (one per file)
_INDENTED = json.JSONEncoder(indent=2, default=str)


def write_atomic(path: Path, data: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_whole(str(path.parent), path.name, data.encode("utf-8") if isinstance(data, str) else data)


def write_json(path: Path, value: object) -> None:
    write_atomic(path, json_bytes(value))


def json_bytes(value: object) -> bytes:
    """How every JSON file is written: indented, ASCII (so the bytes are the text)."""
    return _INDENTED.encode(value).encode("ascii")


def compact_json_bytes(value: object) -> bytes:
    """JSON for machines (the ATIF files): compact, by orjson. json's C encoder escapes a
    string to ASCII one character at a time, which made it most of the ATIF files' cost (a
    20 KB observation: 60 us, orjson 2 us). The same JSON value as ``json.dumps`` gives;
    text outside ASCII is written as UTF-8, not as ``\\u`` escapes."""
    try:
        return orjson.dumps(value, default=str, option=_LIKE_JSON)
    except orjson.JSONEncodeError:  # what orjson refuses: an int past 64 bits, a key not a str
        return json.dumps(value, separators=(",", ":"), default=str).encode("ascii")


def write_files(directory: Path, files: dict[str, bytes]) -> None:
    """Write several files into one directory, each as ``write_atomic`` would. The directory
    is made once, not once per file: an export writes tens of thousands of files, and a
    ``mkdir`` per file was a good part of its time. A name may hold a subfolder ("a/b.log")."""
    folder = str(directory)
    os.makedirs(folder, exist_ok=True)
    for name, data in files.items():
        if "/" in name:
            subfolder, name = f"{folder}/{name}".rsplit("/", 1)
            os.makedirs(subfolder, exist_ok=True)
            _write_whole(subfolder, name, data)
        else:
            _write_whole(folder, name, data)


def _write_whole(folder: str, name: str, data: bytes) -> None:
    # Plain strings and a bare file descriptor: pathlib's per-call parsing, and the buffered
    # file object ``open`` builds, cost more than the write itself for an export's small files.
    temporary = f"{folder}/.{name}.tmp"
    descriptor = os.open(temporary, _NEW_FILE, 0o666)
    try:
        remaining = memoryview(data)
        while remaining:  # a write may take fewer bytes than given
            remaining = remaining[os.write(descriptor, remaining):]
    finally:
        os.close(descriptor)
    os.replace(temporary, f"{folder}/{name}")
