"""Where each step sits on the job page: one column per agent, time flowing down.

Steps are placed in the order their model calls returned, over every agent: a step is never
above one that came before it, and a step that received a message sits below the step that
sent it, so every message line points down (or across a row, never up). Steps of different
agents share a row where that order allows, which keeps the page short.
"""

from coopbench.view.messages import MessageLink
from coopbench.view.steps import Step


def grid_rows(steps: dict[str, list[Step]], links: list[MessageLink]) -> dict[tuple[str, int], int]:
    """(agent, step number) -> its row, 1-based."""
    senders: dict[tuple[str, int], list[tuple[str, int]]] = {}
    for link in links:
        if link.delivered and link.sender_step is not None:
            senders.setdefault((link.receiver, link.receiver_step), []).append(
                (link.sender, link.sender_step))
    rows: dict[tuple[str, int], int] = {}
    last: dict[str, int] = {}
    floor = 1
    for agent, step in _in_time_order(steps):
        row = max(last.get(agent, 0) + 1, floor,
                  *(rows[s] + 1 for s in senders.get((agent, step.number), []) if s in rows))
        rows[(agent, step.number)] = last[agent] = floor = row
    return rows


def _in_time_order(steps: dict[str, list[Step]]) -> list[tuple[str, Step]]:
    """Every agent's steps by time; by step number where a trajectory has no times (then the
    agents' columns are simply read side by side)."""
    agents = list(steps)
    timed = all(s.timestamp is not None for column in steps.values() for s in column)
    every = [(agent, s) for agent in agents for s in steps[agent]]
    if timed:
        return sorted(every, key=lambda a_s: (a_s[1].timestamp, agents.index(a_s[0]), a_s[1].number))
    return sorted(every, key=lambda a_s: (a_s[1].number, agents.index(a_s[0])))
