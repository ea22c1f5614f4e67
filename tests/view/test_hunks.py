"""Hunks that conflict in git's naive merge: changes at overlapping or adjacent base lines
of the same file, by different agents; identical changes and distant ones do not."""

from coopbench.view.hunks import Block, mark_conflicts, parse_patch
from tests.view.synthetic_job import LEDGER


def patch(path: str, header: str, *lines: str) -> str:
    return f"diff --git a/{path} b/{path}\n--- a/{path}\n+++ b/{path}\n{header}\n" + "\n".join(lines) + "\n"


def test_a_hunk_is_cut_into_changed_runs_located_in_the_base():
    (diff,) = parse_patch(patch("a.py", "@@ -10,6 +10,7 @@", " a", "-b", "+B", " c", " d", "+e", " f", " g"))
    assert diff.path == "a.py"
    assert diff.hunks[0].blocks == [Block(11, 12, ("B",)), Block(14, 14, ("e",))]


def test_a_new_file_inserts_before_line_one():
    text = "diff --git a/n.py b/n.py\nnew file mode 100644\n--- /dev/null\n+++ b/n.py\n@@ -0,0 +1,2 @@\n+x\n+y\n"
    (diff,) = parse_patch(text)
    assert diff.path == "n.py" and diff.hunks[0].blocks == [Block(1, 1, ("x", "y"))]


def conflicts(a: str, b: str) -> int:
    return mark_conflicts({"agent1": parse_patch(a), "agent2": parse_patch(b)})


def test_adjacent_lines_conflict_and_separated_ones_do_not():
    one = patch("a.py", "@@ -4,3 +4,3 @@", " x", "-five", "+FIVE", " y")
    six = patch("a.py", "@@ -5,3 +5,3 @@", " five", "-six", "+SIX", " z")
    seven = patch("a.py", "@@ -6,3 +6,3 @@", " six", "-seven", "+SEVEN", " w")
    assert conflicts(one, six) == 2  # lines 5 and 6: nothing unchanged between
    assert conflicts(one, seven) == 0  # line 6 unchanged between them


def test_identical_changes_and_other_files_do_not_conflict():
    one = patch("a.py", "@@ -4,3 +4,3 @@", " x", "-five", "+FIVE", " y")
    assert conflicts(one, one) == 0
    assert conflicts(one, one.replace("a.py", "b.py")) == 0


def test_the_demo_ledgers_features_1_and_2_conflict_and_1_and_3_do_not():
    gold = {fid: LEDGER.gold_patch(fid) for fid in (1, 2, 3)}
    patches = {"agent1": parse_patch(gold[1]), "agent2": parse_patch(gold[2])}
    assert mark_conflicts(patches) == 4
    assert all(h.conflicts_with == {"agent2"} for h in patches["agent1"][0].hunks)
    assert conflicts(gold[1], gold[3]) == 0


def test_three_agents_mark_each_others_hunks():
    gold = {fid: LEDGER.gold_patch(fid) for fid in (1, 2, 3)}
    patches = {f"agent{fid}": parse_patch(gold[fid]) for fid in (1, 2, 3)}
    mark_conflicts(patches)
    assert patches["agent1"][0].hunks[0].conflicts_with == {"agent2"}
    assert not any(h.conflicts_with for f in patches["agent3"] for h in f.hunks)


def test_an_empty_patch_has_no_files():
    assert parse_patch("") == []
