"""The report's tables as cells: this module decides what they say, the page lays them out."""

from dataclasses import dataclass

from coopbench.export.report.data import JobRow, ReportData, gap_matrix, human_duration
from coopbench.export.summary_table import (
    COLUMNS,
    format_figure,  # the CLI table's exact figures
)
from coopbench.job.outcome import JobOutcome
from coopbench.job.setting import GAP_BASELINE, setting_row
from coopbench.store import JobState

# (manifest key, row title, decimals for floats): the figures the CLI table leaves out
MORE_FIGURES = (
    ("queued", "queued", 0), ("running", "running", 0), ("agents", "agents", 0),
    ("submitted", "submitted", 0), ("limits_exceeded", "limits exceeded", 0),
    ("agent_errors", "agent errors", 0), ("eval_errors", "evaluation errors", 0),
    ("config_errors", "configuration errors", 0), ("avg_steps", "avg steps per agent", 1),
    ("avg_cost", "avg cost per job $", 4), ("cost_unknown_agents", "agents with unknown cost", 0),
    ("messages", "messages sent", 0), ("merge_clean", "merge clean", 0),
    ("merge_conflicts", "naive merge conflicted", 0),
    ("merge_lead_alone_passed", "lead's patch alone passed", 0),
    ("merge_identical", "identical patches", 0),
    ("merge_missing_input", "merge missing input", 0), ("merge_errors", "merge errors", 0),
    ("input_tokens", "input tokens", 0), ("output_tokens", "output tokens", 0),
)
ERROR_CHARS = 160  # the whole error is the cell's tooltip


@dataclass(frozen=True)
class Cell:
    text: str
    css: str = ""  # "n": a number, right-aligned; an outcome's class: its colour
    title: str = ""


@dataclass(frozen=True)
class Table:
    head: list[Cell]
    rows: list[list[Cell]]


def num(value: object) -> Cell:
    return Cell(str(value), "n")


def outcome_cell(outcome: str) -> Cell:
    return Cell(outcome, outcome.replace(" ", "-"))


def settings_table(data: ReportData) -> Table:
    """The table ``coopbench export`` prints, figure for figure."""
    return Table([Cell("setting")] + [Cell(title, "n") for _, title, _ in COLUMNS],
                 [[Cell(setting)] + [num(format_figure(figures[key], d)) for key, _, d in COLUMNS]
                  for setting, figures in data.settings.items()])


def more_figures_table(data: ReportData) -> Table:
    """One row per figure: as columns, twenty of them would not fit the page."""
    return Table([Cell("more figures")] + [Cell(setting, "n") for setting in data.settings],
                 [[Cell(title)] + [num(format_figure(f[key], d)) for f in data.settings.values()]
                  for key, title, d in MORE_FIGURES])


def certainty_table(data: ReportData) -> Table:
    """How sure each setting's success rate is: its 95 % interval and, with repeats, pass@k."""
    ks = sorted({k for f in data.settings.values() for k in f.get("pass_at_k", {})}, key=int)
    titles = ("repeats", "pairs", "runs", "success", "95% interval", "method",
              *(f"pass@{k}" for k in ks))
    rows = []
    for setting, figures in data.settings.items():
        interval = figures.get("success_interval")
        if interval is None:  # nothing attempted yet
            continue
        passes = figures.get("pass_at_k", {})
        rows.append([Cell(setting), num(figures["repeats"]), num(interval["pairs"]),
                     num(interval["runs"]), num(format_figure(figures["success_rate"], 3)),
                     num(interval_text(interval)), Cell(interval["method"]),
                     *(num(format_figure(passes[k], 3) if k in passes else "") for k in ks)])
    return Table([Cell("setting")] + [Cell(t, "n") for t in titles], rows)


def interval_text(interval: dict) -> str:
    return f"{format_figure(interval['low'], 3)} to {format_figure(interval['high'], 3)}"


def gap_table(data: ReportData) -> Table:
    titles = ("pairs in both", "solo success", "coop success", "gap", "gap 95% interval",
              "solo pass, coop fail", "solo fail, coop pass")
    rows = []
    for setting, gap in (data.gap or {}).items():
        counts = gap_matrix(data, setting)
        rows.append([Cell(setting), num(gap["pairs"]), num(gap["solo_success"]),
                     num(gap["coop_success"]), num(f"{gap['gap']:+g}"),
                     num(interval_text(gap["gap_interval"])),
                     num(counts[(True, False)]), num(counts[(False, True)])])
    return Table([Cell("coop setting")] + [Cell(t, "n") for t in titles], rows)


def differences_table(data: ReportData) -> Table:
    """Every two settings of the run on the pairs done in both: the first's success minus the
    second's, with its 95 % interval."""
    titles = ("pairs in both", "first success", "second success", "difference", "95% interval")
    return Table([Cell("first"), Cell("second")] + [Cell(t, "n") for t in titles],
                 [[Cell(d["first"]), Cell(d["second"]), num(d["pairs"]), num(d["first_success"]),
                   num(d["second_success"]), num(f"{d['difference']:+g}"),
                   num(interval_text(d["interval"]))] for d in data.differences])


def pair_grid(data: ReportData) -> Table:
    """Each pair's outcome in every setting; no rows unless solo is there to compare with."""
    if GAP_BASELINE.value not in data.settings or len(data.settings) < 2:
        return Table([], [])
    outcomes: dict[str, dict[str, str]] = {}
    for job in data.jobs:  # already by pair
        outcomes.setdefault(job.pair, {})[job.setting] = job.outcome
    return Table([Cell("pair")] + [Cell(s) for s in data.settings],
                 [[Cell(pair)] + [outcome_cell(by[s]) if s in by else Cell("-", "missing")
                                  for s in data.settings]
                  for pair, by in outcomes.items()])


def jobs_table(data: ReportData) -> Table:
    head = [Cell(t) for t in ("pair", "setting", "state", "merge", "both passed")] + [
        Cell(t, "n") for t in ("cost $", "duration", "attempts", "messages")] + [Cell("error")]
    return Table(head, [_job_cells(job) for job in data.jobs])


def _job_cells(job: JobRow) -> list[Cell]:
    if job.outcome in (JobOutcome.passed, JobOutcome.failed):
        passed = Cell("yes" if job.both_passed else "no", outcome_cell(job.outcome).css)
    else:
        passed = outcome_cell(job.outcome) if job.state == JobState.done else Cell("")
    error = job.error or ""
    short = error if len(error) <= ERROR_CHARS else error[:ERROR_CHARS - 1] + "…"
    return [
        Cell(job.pair), Cell(job.setting), Cell(job.state), Cell(job.merge_status or ""), passed,
        num(cost_text(job)), num("" if job.duration_s is None else human_duration(job.duration_s)),
        num(job.attempts), num(job.messages if setting_row(job.setting).multi_agent else ""),
        Cell(short, "err", error),
    ]


def cost_text(job: JobRow) -> str:
    """Known cost, and how many agents' cost is unknown: never an unknown shown as $0."""
    if job.cost_usd is None:
        return "unknown" if job.cost_unknown_agents else ""
    known = f"{job.cost_usd:.4f}".rstrip("0").rstrip(".")
    return known + (f" + {job.cost_unknown_agents} unknown" if job.cost_unknown_agents else "")
