"""Rows: time flows down over every agent, a receiving step sits below its sender."""

from coopbench.view.layout import grid_rows
from coopbench.view.messages import MessageLink
from coopbench.view.steps import Step


def step(number: int, at: float | None) -> Step:
    return Step(number, at, "", [], "")


def test_steps_take_rows_in_time_order_and_share_them_where_order_allows():
    rows = grid_rows({"agent1": [step(1, 1.0), step(2, 3.0)], "agent2": [step(1, 2.0), step(2, 4.0)]}, [])
    assert rows == {("agent1", 1): 1, ("agent2", 1): 1, ("agent1", 2): 2, ("agent2", 2): 2}


def test_a_receiving_step_is_below_its_sender():
    link = MessageLink(1, "agent1", "agent2", "hi", None, 1, 1, "inbox")
    rows = grid_rows({"agent1": [step(1, 1.0)], "agent2": [step(1, 2.0)]}, [link])
    assert rows[("agent2", 1)] == rows[("agent1", 1)] + 1


def test_without_times_the_columns_are_read_by_step_number():
    rows = grid_rows({"agent1": [step(1, None), step(2, None)], "agent2": [step(1, None)]}, [])
    assert rows == {("agent1", 1): 1, ("agent2", 1): 1, ("agent1", 2): 2}
