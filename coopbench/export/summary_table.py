"""The per-setting table printed after a run or an export.

``rate`` is upstream's pass rate (evaluation errors left out); ``success`` is the paper's
success rate (every finished pair counts, errors as failures). The table stays within about
110 columns for a full-size run (hundreds of pairs, thousands of dollars, hours of wall time).
"""

from rich.markup import escape
from rich.table import Table

# (manifest key, column title, decimals for floats)
COLUMNS = (
    ("pairs", "pairs", 0), ("done", "done", 0), ("patches", "patches", 0),
    ("evaluated", "eval'd", 0), ("both_passed", "passed", 0), ("pass_rate", "rate", 3),
    ("success_rate", "success", 3), ("infra_errors", "infra err", 0),
    ("total_cost", "cost $", 2), ("wall_time_seconds", "wall s", 1),
)


def settings_table(manifest: dict) -> Table:
    """Every figure whole: a console too narrow for the table folds a figure onto a second
    line rather than cut it to "0.…" (the CLI's console off a terminal is never too narrow)."""
    table = Table(title=f"run {escape(manifest['run']['name'])}")
    table.add_column("setting", no_wrap=True)
    for _, title, _ in COLUMNS:
        table.add_column(title, justify="right", overflow="fold")
    for setting, figures in manifest["settings"].items():
        table.add_row(escape(setting), *(format_figure(figures[key], decimals) for key, _, decimals in COLUMNS))
    return table


def format_figure(value: object, decimals: int) -> str:
    if isinstance(value, float):
        return f"{value:.{decimals}f}".rstrip("0").rstrip(".") if decimals else f"{value:.0f}"
    return str(value)
