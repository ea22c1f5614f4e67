"""The run page's rows: every job of a run, read as ``coopbench report`` reads them.

A row is the report's ``JobRow`` (outcome, cost with unknown agents counted apart, worker
time, messages) plus what the viewer adds: the job's id (its page), repo, repeat, and
whether it has a page (its agents finished).
"""

from dataclasses import dataclass

from coopbench.errors import ConfigError
from coopbench.export.manifest import group_by_setting
from coopbench.export.report.data import JobRow, human_duration, job_row
from coopbench.export.run_export import load_finished, run_block
from coopbench.store import Store


@dataclass(frozen=True)
class RunRow:
    job_id: str
    repo: str
    repeat: int
    has_page: bool
    report: JobRow

    @property
    def duration(self) -> str:
        return "" if self.report.duration_s is None else human_duration(self.report.duration_s)


@dataclass(frozen=True)
class RunListing:
    run: dict  # the manifest's "run" block
    rows: list[RunRow]

    @property
    def repeats(self) -> bool:
        """Whether a repeat column is worth showing."""
        return any(row.repeat > 1 for row in self.rows)

    @property
    def choices(self) -> dict[str, list[str]]:
        """What the setting, outcome and repo filters offer, in the rows' order."""
        return {"setting": _unique(r.report.setting for r in self.rows),
                "outcome": _unique(r.report.outcome for r in self.rows),
                "repo": _unique(r.repo for r in self.rows)}


def load_run_listing(store: Store, run_name: str) -> RunListing:
    with store.session() as session:
        run, finished = load_finished(session, store, run_name)
        if not finished:
            raise ConfigError(f"run {run_name!r} has no jobs: nothing to view")
        rows = [RunRow(item.job.id, item.job.repo, item.job.repeat, bool(item.agent_runs),
                       job_row(item)) for item in finished]
        order = {setting: i for i, setting in enumerate(group_by_setting(finished))}  # solo first
        rows.sort(key=lambda r: (r.report.key, order[r.report.setting], r.repeat))
        return RunListing(run_block(run), rows)


def _unique(values) -> list[str]:
    return list(dict.fromkeys(str(v) for v in values))
