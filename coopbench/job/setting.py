"""What one job is: a group of features in one setting, and who works on what.

A setting is one row of ``SETTINGS``: how its features are given to agents, the channel
they have, the harness that runs the job, and how their patches are scored. The code reads
the row, never the setting's name. Settings and agent ids are upstream's: ``solo`` gives
every feature to agent ``solo``; ``coop`` and ``coop-nocomm`` give one feature to each
agent, ``agent1`` the lowest id, ``agent2`` the next, and so on.

To add a setting: add its name to ``Setting`` and its row to ``SETTINGS``; then write what
is really new about it (a channel, a harness, a scoring) where that row is read.
"""

import enum
import uuid
from dataclasses import dataclass

from coopbench.errors import ConfigError
from coopbench.evaluation.evaluate import Scoring


class Setting(enum.StrEnum):
    solo = "solo"
    coop = "coop"
    coop_nocomm = "coop-nocomm"
    coop_git = "coop-git"  # upstream's `coop --git`: messaging and a shared git remote
    coop_git_nocomm = "coop-git-nocomm"  # upstream's `coop --git --no-messaging`
    team = "team"  # upstream's `team`: a lead and members, task list, scratchpad, messaging
    team_git = "team-git"  # upstream's `team --git`
    team_nocomm = "team-nocomm"  # upstream's `team --no-messaging`: the task list stays
    team_git_nocomm = "team-git-nocomm"  # upstream's `team --git --no-messaging`
    gold = "gold"  # `coopbench gold-check`: merge the gold patches; no agents, no tests


class Assignment(enum.StrEnum):
    """How a job's features are given to its agents."""

    all_to_one = "all-to-one"  # one agent, every feature (solo)
    one_each = "one-each"  # one agent per feature, in ascending feature id


class Channel(enum.StrEnum):
    """What the agents of a job can use to reach each other."""

    none = "none"
    bus = "bus"  # messages over the job's bus (coopbench.bus)


class Harness(enum.StrEnum):
    """What runs the job."""

    agents = "agents"  # the run's agent, one per assignment, then the evaluation
    gold_merge = "gold-merge"  # no agent: the gold patches merged (coopbench.job.gold)


@dataclass(frozen=True)
class SettingRow:
    setting: Setting
    assignment: Assignment
    channel: Channel
    harness: Harness
    scoring: Scoring | None  # None: the harness records its own outcome (gold-merge)
    layout_name: str  # the setting folder of upstream's log layout (it knows solo and coop)
    enqueued: bool  # offered by `coopbench enqueue --settings`
    shared_git: bool = False  # a git server per attempt, every agent's remote (upstream's --git)
    hosted_only: bool = False  # needs upstream's adapters (their git connector); not oracle's
    team: bool = False  # upstream's team harness: agent1 leads, the others are members

    @property
    def multi_agent(self) -> bool:
        """One agent per feature: per-agent files, a conversation.json, a merge."""
        return self.assignment is Assignment.one_each


SETTINGS: dict[Setting, SettingRow] = {row.setting: row for row in (
    SettingRow(Setting.solo, Assignment.all_to_one, Channel.none, Harness.agents, Scoring.solo,
               "solo", enqueued=True),
    SettingRow(Setting.coop, Assignment.one_each, Channel.bus, Harness.agents, Scoring.merged,
               "coop", enqueued=True),
    SettingRow(Setting.coop_nocomm, Assignment.one_each, Channel.none, Harness.agents,
               Scoring.merged, "coop", enqueued=True),
    SettingRow(Setting.coop_git, Assignment.one_each, Channel.bus, Harness.agents,
               Scoring.merged, "coop", enqueued=True, shared_git=True, hosted_only=True),
    SettingRow(Setting.coop_git_nocomm, Assignment.one_each, Channel.none, Harness.agents,
               Scoring.merged, "coop", enqueued=True, shared_git=True, hosted_only=True),
    SettingRow(Setting.team, Assignment.one_each, Channel.bus, Harness.agents, Scoring.merged,
               "team", enqueued=True, hosted_only=True, team=True),
    SettingRow(Setting.team_git, Assignment.one_each, Channel.bus, Harness.agents,
               Scoring.merged, "team", enqueued=True, shared_git=True, hosted_only=True, team=True),
    SettingRow(Setting.team_nocomm, Assignment.one_each, Channel.none, Harness.agents,
               Scoring.merged, "team", enqueued=True, hosted_only=True, team=True),
    SettingRow(Setting.team_git_nocomm, Assignment.one_each, Channel.none, Harness.agents,
               Scoring.merged, "team", enqueued=True, shared_git=True, hosted_only=True, team=True),
    SettingRow(Setting.gold, Assignment.one_each, Channel.none, Harness.gold_merge, None,
               "coop", enqueued=False),
)}

ENQUEUED_SETTINGS = tuple(row.setting for row in SETTINGS.values() if row.enqueued)
# What `enqueue` runs when --settings is not given: the paper's three.
AGENT_SETTINGS = (Setting.solo, Setting.coop, Setting.coop_nocomm)
# What the paper's coordination gap is measured against: each other setting's success on the
# same groups, minus this one's.
GAP_BASELINE = Setting.solo


def setting_row(setting: str) -> SettingRow:
    try:
        return SETTINGS[Setting(setting)]
    except ValueError:
        raise ConfigError(f"unknown setting {setting!r}; known: {', '.join(SETTINGS)}") from None


# Fixed namespace: the same (run, pair, setting) always gets the same job id, on every host.
JOB_ID_NAMESPACE = uuid.UUID("6f1c2a52-8d0e-4c55-9a51-0c00be4c0001")



def parse_settings(text: str) -> list[Setting]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    known = ", ".join(s.value for s in ENQUEUED_SETTINGS)
    if not names:
        raise ConfigError(f"no setting given; choose from {known}")
    settings: list[Setting] = []
    for name in names:
        try:
            setting = Setting(name)
            if setting not in ENQUEUED_SETTINGS:
                raise ValueError(name)
        except ValueError:
            raise ConfigError(f"unknown setting {name!r}; choose from {known}") from None
        if setting not in settings:
            settings.append(setting)
    return settings


def job_id(run: str, repo: str, task_id: int, features: tuple[int, ...], setting: str,
           repeat: int = 1) -> str:
    """A job's id, the same on every host and at every enqueue. The first repeat's key has no
    repeat in it, so that the runs enqueued before ``--repeats`` existed keep their ids."""
    key = f"{run}|{repo}|{task_id}|{','.join(map(str, features))}|{setting}"
    if repeat != 1:
        key += f"|r{repeat}"
    return str(uuid.uuid5(JOB_ID_NAMESPACE, key))


@dataclass(frozen=True)
class AgentAssignment:
    """One agent of a job: its id and the features it implements, in prompt order."""

    agent_id: str
    feature_ids: tuple[int, ...]


def assignments(setting: str, features: tuple[int, ...] | list[int]) -> list[AgentAssignment]:
    if setting_row(setting).assignment is Assignment.all_to_one:
        return [AgentAssignment("solo", tuple(features))]
    return [AgentAssignment(f"agent{i}", (fid,)) for i, fid in enumerate(sorted(features), start=1)]
