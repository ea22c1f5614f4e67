"""The report's plots, drawn with matplotlib on the Agg canvas.

No pyplot: a ``Figure`` with its own ``FigureCanvasAgg`` needs no display, selects no global
backend and keeps no state between plots. Each plot function returns a figure, or a string
saying why there is nothing to plot (the page shows it instead of the image).
"""

import io
import random
from dataclasses import dataclass

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, MaxNLocator

from coopbench.export.report.data import JobRow, ReportData, gap_matrix, human_duration, percentile
from coopbench.job.outcome import JobOutcome
from coopbench.job.setting import GAP_BASELINE
from coopbench.store import JobState

DPI = 100  # figure inches x DPI = pixels; the page shows images at their natural size
OUTCOME_COLOURS = {
    JobOutcome.passed: "#2e7d32", JobOutcome.failed: "#c62828", JobOutcome.eval_error: "#ef6c00",
    JobOutcome.infra_error: "#6a1b9a", JobOutcome.config_error: "#795548", JobOutcome.cancelled: "#9e9e9e",
    JobOutcome.running: "#1e88e5", JobOutcome.queued: "#d0d0d0",
}
SETTING_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b")
PASS_RATE, SUCCESS_RATE = "#90caf9", "#1565c0"
MANY_PAIRS = 40  # past this, messages are a histogram rather than a bar per pair


@dataclass(frozen=True)
class Png:
    data: bytes
    width: int
    height: int


def to_png(figure: Figure) -> Png:
    FigureCanvasAgg(figure)  # attaches itself to the figure
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})  # same bytes twice
    width, height = (round(v * DPI) for v in figure.get_size_inches())
    return Png(buffer.getvalue(), width, height)


def success(data: ReportData) -> Figure | str:
    if not data.settings:
        return "the run has no jobs"
    settings = list(data.settings)
    figure = Figure(figsize=(11, 2.2 + 0.55 * len(settings)), layout="constrained")
    bars, rates = figure.subplots(1, 2, width_ratios=(2.2, 1), sharey=True)
    for row, setting in enumerate(settings):
        left = 0
        for outcome in JobOutcome:
            count = sum(1 for j in data.jobs_in(setting) if j.outcome == outcome)
            if count:
                bars.barh(row, count, left=left, color=OUTCOME_COLOURS[outcome], edgecolor="white")
                bars.text(left + count / 2, row, str(count), ha="center", va="center",
                          color="white" if outcome != JobOutcome.queued else "black", fontsize=9)
                left += count
    bars.set(yticks=range(len(settings)), yticklabels=settings, xlabel="pairs (jobs)",
             title="outcome of every job")
    bars.invert_yaxis()
    for row, setting in enumerate(settings):
        figures = data.settings[setting]
        for offset, key, colour in ((-0.18, "pass_rate", PASS_RATE),
                                    (0.18, "success_rate", SUCCESS_RATE)):
            rates.barh(row + offset, figures[key], height=0.34, color=colour)
            rates.text(figures[key] + 0.02, row + offset, f"{figures[key]:.3g}", va="center", fontsize=8)
    rates.set(xlim=(0, 1.15), xlabel="rate", title="pass rate vs success rate")
    handles = [Patch(color=OUTCOME_COLOURS[o], label=o) for o in JobOutcome] + [
        Patch(color=PASS_RATE, label="pass rate (eval errors left out)"),
        Patch(color=SUCCESS_RATE, label="success rate (errors = failures)")]
    figure.legend(handles=handles, loc="outside lower center", ncols=5, fontsize=8, frameon=False)
    return figure


def gap(data: ReportData) -> Figure | str:
    if GAP_BASELINE.value not in data.settings:
        return "the run has no solo jobs to compare with"
    coop = [s for s in data.settings if s != GAP_BASELINE and s in (data.gap or {})]
    if not coop:
        return "no pair is done both in solo and in a coop setting"
    figure = Figure(figsize=(3.6 * len(coop) + 0.6, 3.2), layout="constrained")
    for axes, setting in zip(figure.subplots(1, len(coop), squeeze=False)[0], coop):
        counts, figures = gap_matrix(data, setting), data.gap[setting]
        grid = [[counts[(solo, other)] for other in (True, False)] for solo in (True, False)]
        axes.imshow(grid, cmap="Blues", vmin=0, vmax=max(max(r) for r in grid) * 1.6 or 1)
        notes = {(0, 1): "lost when\ncooperating", (1, 0): "gained when\ncooperating"}
        for y in (0, 1):
            for x in (0, 1):
                label = str(grid[y][x]) + (f"\n{notes[(y, x)]}" if (y, x) in notes else "")
                axes.text(x, y, label, ha="center", va="center", fontsize=9)
        axes.set(xticks=(0, 1), xticklabels=("pass", "fail"), yticks=(0, 1),
                 yticklabels=("pass", "fail"), xlabel=setting, ylabel="solo",
                 title=f"{setting}: gap {figures['gap']:+.3g} over {figures['pairs']} pairs")
        axes.title.set_fontsize(10)
    return figure


def cost_and_steps(data: ReportData) -> Figure | str:
    if not data.agents:
        return "no done job, so no agent to count"
    settings = [s for s in data.settings if any(a.setting == s for a in data.agents)]
    figure = Figure(figsize=(11, 3.8), layout="constrained")
    cost_axes, steps_axes = figure.subplots(1, 2)
    costs = [[a.cost_usd for a in data.agents if a.setting == s and a.cost_usd is not None]
             for s in settings]
    steps = [[a.steps for a in data.agents if a.setting == s] for s in settings]
    colours = [_colour(data, s) for s in settings]
    _distribution(cost_axes, settings, colours, costs, "cost per agent, USD")
    _distribution(steps_axes, settings, colours, steps, "steps (LLM calls) per agent")
    for index, setting in enumerate(settings):
        unknown = sum(1 for a in data.agents if a.setting == setting and a.cost_usd is None)
        if unknown:  # an unpriced model's cost is unknown, never plotted as $0
            cost_axes.annotate(f"{unknown} unknown", (index + 1, 1.0), ha="center", fontsize=8,
                               xycoords=("data", "axes fraction"), xytext=(0, -12),
                               textcoords="offset points", color="#c62828")
    return figure


def _distribution(axes, settings: list[str], colours: list[str], values: list[list[float]],
                  title: str) -> None:
    jitter = random.Random(0)  # the same picture every time
    present = [(i, v) for i, v in enumerate(values, start=1) if v]
    if present:
        axes.boxplot([v for _, v in present], positions=[i for i, _ in present], widths=0.5,
                     showfliers=False, medianprops={"color": "black"})
    for index, (points, colour) in enumerate(zip(values, colours), start=1):
        axes.scatter([index + jitter.uniform(-0.15, 0.15) for _ in points], points, s=14,
                     alpha=0.6, color=colour, zorder=3)
    axes.set_xticks(range(1, len(settings) + 1), settings)
    top = max((max(v) for v in values if v), default=0)
    axes.set(title=title, xlim=(0.4, len(settings) + 0.6), ylim=(0, top * 1.12 or 1))


def durations(data: ReportData) -> Figure | str:
    timed = [j for j in data.jobs if j.duration_s is not None]
    if not timed:
        return "no job has finished yet"
    seconds = [j.duration_s for j in timed]
    units = (("s", 1, 120), ("min", 60, 7200), ("h", 3600, None))  # (unit, seconds, up to)
    unit, scale = next((u, s) for u, s, limit in units if limit is None or max(seconds) <= limit)
    marks = {"p50": percentile(seconds, 50), "p90": percentile(seconds, 90), "max": max(seconds)}
    figure = Figure(figsize=(11, 3.8), layout="constrained")
    histogram, cdf = figure.subplots(1, 2)
    settings = [s for s in data.settings if any(j.setting == s for j in timed)]
    histogram.hist([[j.duration_s / scale for j in timed if j.setting == s] for s in settings],
                   bins=min(30, max(5, len(timed))), stacked=True, label=settings,
                   color=[_colour(data, s) for s in settings])
    histogram.set(xlabel=f"job duration ({unit})", ylabel="jobs", title="job durations")
    histogram.yaxis.set_major_locator(MaxNLocator(integer=True))
    histogram.legend(fontsize=8)
    # The tail on a log axis: the slowest jobs set a run's wall time.
    floor = min((s for s in seconds if s > 0), default=1) / 2
    ordered = sorted(max(s, floor) / scale for s in seconds)
    cdf.step(ordered, [(i + 1) / len(ordered) for i in range(len(ordered))], where="post", color="black")
    cdf.set(xscale="log", ylim=(0, 1.05), xlabel=f"job duration ({unit}, log scale)",
            ylabel="fraction of jobs done within", title="cumulative (log scale)")
    # Plain numbers on the log axis (1, 2, 5, 10, ...), not powers of ten.
    plain = FuncFormatter(lambda v, _: f"{v:g}" if f"{v:.0e}"[0] in "125" else "")
    cdf.xaxis.set_major_formatter(plain)
    cdf.xaxis.set_minor_formatter(plain)
    for (name, value), style in zip(marks.items(), ("--", "-.", ":")):
        for axes in (histogram, cdf):
            axes.axvline(max(value, floor) / scale, color="#c62828", linestyle=style, linewidth=1.2,
                         label=f"{name} {human_duration(value)}" if axes is cdf else None)
    cdf.legend(fontsize=8, loc="upper left")
    return figure


def messages(data: ReportData) -> Figure | str:
    settings = [s for s in data.settings if s != GAP_BASELINE
                and sum(j.messages for j in data.jobs_in(s) if j.state == JobState.done)]
    if not settings:
        return "no coop pair sent a message"
    pairs = {s: sorted((j for j in data.jobs_in(s) if j.state == JobState.done),
                       key=lambda j: -j.messages) for s in settings}
    tallest = max(len(p) for p in pairs.values())
    height = 3.4 if tallest > MANY_PAIRS else 1.4 + 0.28 * tallest
    figure = Figure(figsize=(5.5 * len(settings) + 1, height), layout="constrained")
    for axes, setting in zip(figure.subplots(1, len(settings), squeeze=False)[0], settings):
        draw = _messages_histogram if len(pairs[setting]) > MANY_PAIRS else _messages_bars
        draw(axes, pairs[setting])
        axes.set_title(f"{setting}: messages per pair", fontsize=10)
    return figure


def _messages_bars(axes, jobs: list[JobRow]) -> None:
    """A bar per pair, most messages first, coloured by the pair's outcome."""
    bars = axes.barh(range(len(jobs)), [j.messages for j in jobs],
                     color=[OUTCOME_COLOURS[j.outcome] for j in jobs])
    axes.bar_label(bars, padding=3, fontsize=8)  # a pair with 0 messages shows "0"
    axes.set_yticks(range(len(jobs)), [j.pair for j in jobs], fontsize=8)
    axes.invert_yaxis()
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.margins(x=0.08)
    axes.set(xlabel="messages sent by both agents")
    shown = dict.fromkeys(j.outcome for j in jobs)
    axes.legend(handles=[Patch(color=OUTCOME_COLOURS[o], label=o) for o in shown], fontsize=8,
                loc="lower right")


def _messages_histogram(axes, jobs: list[JobRow]) -> None:
    """Pairs per message count, stacked by outcome: too many pairs for a bar each."""
    groups = [JobOutcome.passed, JobOutcome.failed, JobOutcome.eval_error]
    most = max(j.messages for j in jobs)
    one_per_count = most <= 40
    axes.hist([[j.messages for j in jobs if j.outcome == o] for o in groups],
              bins=range(most + 2) if one_per_count else 20, align="left" if one_per_count else "mid",
              stacked=True, label=groups, color=[OUTCOME_COLOURS[o] for o in groups])
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set(xlabel="messages sent in the pair", ylabel="pairs")
    axes.legend(fontsize=8)


def _colour(data: ReportData, setting: str) -> str:
    """A setting's colour, the same in every plot."""
    return SETTING_COLOURS[list(data.settings).index(setting) % len(SETTING_COLOURS)]


PLOTS = {"success": success, "gap": gap, "cost-steps": cost_and_steps, "durations": durations,
         "messages": messages}
