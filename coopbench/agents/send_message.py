"""``send_message`` calls written inside an agent's bash command.

The model has a single ``bash`` tool; a message is sent by writing ``send_message`` in the
command, which the worker recognises and takes out before the rest runs in the container.
Recognised as upstream does (reference 3.4): first the heredoc form

    send_message [--wait] <id> [--wait] <<'TAG' ... TAG      (also <<TAG and <<"TAG")

and only if there is none, ``send_message [--wait] <id> "text"`` or ``'text'``.

Beyond upstream: the double-quoted tag is recognised; the heredoc terminator must be a
whole line, as in bash; quoted sends come out in the order written (upstream sends every
double-quoted one before every single-quoted one); only the fragments actually sent are
removed from the command (upstream also deletes quoted ones it did not send); and a
``;`` left dangling is cleaned up like ``&&``, since bash rejects ``; ls``.
"""

import re
from typing import NamedTuple

_HEAD = r"\bsend_message\s+(--wait\s+)?(\w+)(\s+--wait)?\s+"
# The body runs from the line after the tag to a line that is only the tag.
HEREDOC = re.compile(_HEAD + r"""<<(['"]?)(\w+)\4[ \t]*\n(.*?)^\5[ \t]*$""",
                     re.DOTALL | re.MULTILINE)
QUOTED = re.compile(_HEAD + r"""(?:"([^"]*)"|'([^']*)')""")

# Left after a fragment is cut out. A leading `||` is kept (bash then reports it): dropping
# it would run a fallback the agent meant only for a failed send.
_TIDY = [
    (re.compile(r"^\s*(&&|;)\s*"), ""),
    (re.compile(r"\s*(&&|\|\|)\s*$"), ""),
    (re.compile(r"&&\s*&&"), "&&"),
    (re.compile(r"\|\|\s*\|\|"), "||"),
    # `a && send; b` and `a; send && b` both mean `a; b`
    (re.compile(r"\s*(&&|;)\s*(&&|;)\s*"), "; "),
]


class SendCall(NamedTuple):
    recipient: str
    text: str
    wait: bool


def extract_sends(command: str) -> tuple[list[SendCall], str]:
    """The sends in ``command``, in order, and what is left to run ("" if nothing).

    A command without a recognised ``send_message`` comes back unchanged.
    """
    sends: list[SendCall] = []
    spans: list[tuple[int, int]] = []
    for match in HEREDOC.finditer(command):
        body = match.group(6)[:-1]  # the newline before the terminator is not part of it
        sends.append(SendCall(match.group(2), body, bool(match.group(1) or match.group(3))))
        spans.append(match.span())
    if not sends:
        for match in QUOTED.finditer(command):
            text = match.group(4) if match.group(4) is not None else match.group(5)
            sends.append(SendCall(match.group(2), text, bool(match.group(1) or match.group(3))))
            spans.append(match.span())
    if not sends:
        return [], command
    return sends, _remainder(command, spans)


def _remainder(command: str, spans: list[tuple[int, int]]) -> str:
    kept, start = [], 0
    for begin, end in spans:
        kept.append(command[start:begin])
        start = end
    kept.append(command[start:])
    rest = "".join(kept)
    for pattern, replacement in _TIDY:
        rest = pattern.sub(replacement, rest)
    return rest.strip()
