"""The agents' patches as files and hunks, with the hunks that conflict marked.

Two agents' changes conflict, as in git's naive merge (``git merge`` of the two branches,
which upstream's evaluation runs first), when they change the same file at overlapping or
adjacent lines of the base: no unchanged line between them. Identical changes merge
cleanly. Only the changed lines of a hunk count, not its context lines, which is why a
hunk is cut into blocks (runs of removed and added lines) located in the base file.
"""

import re
from dataclasses import dataclass, field
from itertools import combinations

HUNK_HEADER = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


@dataclass(frozen=True)
class Block:
    """A run of changed lines: base lines [start, end) replaced by ``added``; a pure
    insertion has start == end (inserted before base line ``start``)."""

    start: int
    end: int
    added: tuple[str, ...]


@dataclass
class Hunk:
    header: str
    lines: list[str]
    blocks: list[Block]
    conflicts_with: set[str] = field(default_factory=set)  # agents whose changes touch it


@dataclass
class FileDiff:
    path: str
    hunks: list[Hunk]


def parse_patch(text: str) -> list[FileDiff]:
    """A unified diff (git's) as files and hunks; lines outside hunks (index, mode) are dropped."""
    files: list[FileDiff] = []
    old_path = None
    hunk: Hunk | None = None
    for line in text.splitlines():
        if line.startswith("diff --git "):
            hunk, old_path = None, None
            files.append(FileDiff(line.split(" b/", 1)[-1], []))
        elif line.startswith("--- ") and hunk is None:
            old_path = _path(line[4:])
        elif line.startswith("+++ ") and hunk is None:
            path = _path(line[4:]) or old_path or "?"
            if files and files[-1].hunks == [] and not line.startswith("+++ /dev/null"):
                files[-1].path = path
            elif not files:
                files.append(FileDiff(path, []))
        elif HUNK_HEADER.match(line):
            if not files:
                files.append(FileDiff("?", []))
            hunk = Hunk(line, [], [])
            files[-1].hunks.append(hunk)
        elif hunk is not None and line[:1] in (" ", "-", "+", "\\", ""):
            hunk.lines.append(line)
        else:
            hunk = None
    for diff in files:
        for h in diff.hunks:
            h.blocks = blocks(h)
    return files


def _path(name: str) -> str | None:
    name = name.split("\t", 1)[0].strip()
    if name == "/dev/null":
        return None
    return name[2:] if name[:2] in ("a/", "b/") else name


def blocks(hunk: Hunk) -> list[Block]:
    """The hunk's changed runs, located in the base file."""
    header = HUNK_HEADER.match(hunk.header)
    # "-0,0" (a new file) inserts before line 1; "-n,0" inserts after line n.
    base = int(header.group(1)) + (1 if header.group(2) == "0" else 0)
    found: list[Block] = []
    run_start, removed, added = None, 0, []
    for line in hunk.lines + [" "]:  # a context line at the end closes the last run
        kind = line[:1]
        if kind in ("-", "+"):
            if run_start is None:
                run_start = base
            if kind == "-":
                removed += 1
                base += 1
            else:
                added.append(line[1:])
            continue
        if kind == "\\":  # "\ No newline at end of file"
            continue
        if run_start is not None:
            found.append(Block(run_start, run_start + removed, tuple(added)))
            run_start, removed, added = None, 0, []
        base += 1
    return found


def touch(a: Block, b: Block) -> bool:
    """Overlapping or adjacent in the base, and not the same change."""
    if (a.start, a.end, a.added) == (b.start, b.end, b.added):
        return False
    return a.start <= b.end and b.start <= a.end


def mark_conflicts(patches: dict[str, list[FileDiff]]) -> int:
    """Mark, in place, each hunk whose changes touch another agent's in the same file;
    returns how many hunks are marked."""
    for (agent_a, files_a), (agent_b, files_b) in combinations(patches.items(), 2):
        by_path = {f.path: f for f in files_b}
        for file_a in files_a:
            file_b = by_path.get(file_a.path)
            if file_b is None:
                continue
            for hunk_a in file_a.hunks:
                for hunk_b in file_b.hunks:
                    if any(touch(x, y) for x in hunk_a.blocks for y in hunk_b.blocks):
                        hunk_a.conflicts_with.add(agent_b)
                        hunk_b.conflicts_with.add(agent_a)
    return sum(1 for files in patches.values() for f in files for h in f.hunks if h.conflicts_with)
