"""Recognising send_message inside a bash command (pure, no Redis)."""

import subprocess

import pytest

from coopbench.agents.send_message import SendCall, extract_sends


def test_heredoc_with_quoted_tag():
    command = "send_message agent2 <<'MSG'\nI take utils.py.\nYou take cli.py?\nMSG"
    text = "I take utils.py.\nYou take cli.py?"
    assert extract_sends(command) == ([SendCall("agent2", text, False)], "")


@pytest.mark.parametrize("opener", ["<<MSG", "<<'MSG'", '<<"MSG"'])
def test_heredoc_tag_forms(opener):
    sends, rest = extract_sends(f"send_message agent1 {opener}\nhello\nMSG\n")
    assert (sends, rest) == ([SendCall("agent1", "hello", False)], "")


@pytest.mark.parametrize("command", [
    "send_message --wait agent2 <<'EOF'\nok?\nEOF",
    "send_message agent2 --wait <<'EOF'\nok?\nEOF",
    'send_message --wait agent2 "ok?"',
    "send_message agent2 --wait 'ok?'",
])
def test_wait_before_or_after_the_id(command):
    assert extract_sends(command) == ([SendCall("agent2", "ok?", True)], "")


def test_heredoc_body_keeps_quotes_blank_lines_and_lines_that_only_start_with_the_tag():
    body = "\nsay \"hi\" and 'bye'\nMSGS are fine\n"
    sends, _ = extract_sends(f"send_message agent2 <<'MSG'\n{body}\nMSG")
    assert sends == [SendCall("agent2", body, False)]


def test_empty_heredoc_body():
    assert extract_sends("send_message agent2 <<'MSG'\nMSG") == (
        [SendCall("agent2", "", False)], "")


def test_quoted_forms_in_the_order_written():
    command = ("send_message agent2 'one' && send_message agent2 \"two\" "
               "&& send_message agent1 'three'")
    sends, rest = extract_sends(command)
    assert sends == [SendCall("agent2", "one", False), SendCall("agent2", "two", False),
                     SendCall("agent1", "three", False)]
    assert rest == ""


def test_several_heredocs_with_commands_between():
    command = ("cd /workspace/repo && send_message agent2 <<'A'\nfirst\nA\n"
               "git diff --stat\n"
               "send_message --wait agent2 <<'B'\nsecond\nB\n"
               "pytest -q tests/")
    sends, rest = extract_sends(command)
    assert sends == [SendCall("agent2", "first", False), SendCall("agent2", "second", True)]
    assert rest == "cd /workspace/repo && \ngit diff --stat\n\npytest -q tests/"
    assert subprocess.run(["bash", "-n", "-c", rest]).returncode == 0  # still valid bash


def test_a_heredoc_wins_over_quoted_sends():
    """Upstream looks for the quoted forms only when there is no heredoc; the quoted one
    then stays in the command (and fails there, as upstream's would not be sent either)."""
    command = "send_message agent2 'quoted' && send_message agent2 <<'M'\nheredoc\nM"
    sends, rest = extract_sends(command)
    assert sends == [SendCall("agent2", "heredoc", False)]
    assert rest == "send_message agent2 'quoted'"


@pytest.mark.parametrize("command, rest", [
    ('ls && send_message agent2 "x"', "ls"),
    ('send_message agent2 "x" && ls', "ls"),
    ('ls && send_message agent2 "x" && pwd', "ls && pwd"),
    ('ls || send_message agent2 "x"', "ls"),
    ('ls || send_message agent2 "x" || pwd', "ls || pwd"),
    ('send_message agent2 "x"; ls', "ls"),
    ('ls; send_message agent2 "x"; pwd', "ls; pwd"),
    ('ls && send_message agent2 "x"; pwd', "ls; pwd"),
    ('send_message agent2 "x" && send_message agent1 "y"', ""),
    ("send_message agent2 <<'M'\nx\nM\n&& ls", "ls"),
])
def test_the_remainder_is_tidied(command, rest):
    assert extract_sends(command)[1] == rest
    assert subprocess.run(["bash", "-n", "-c", rest]).returncode == 0


@pytest.mark.parametrize("command", [
    "ls -la && git status",
    "echo send_message",
    "send_message agent2",  # no body: not a send; bash will say so
    "my_send_message agent2 'x'",
    "cat <<'EOF'\nsend_message is great\nEOF",
    "",
])
def test_no_send_leaves_the_command_unchanged(command):
    assert extract_sends(command) == ([], command)
