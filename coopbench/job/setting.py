"""What one job is: a pair of features in one setting, and who works on what.

Settings and agent ids are upstream's: ``solo`` gives both features to agent ``solo``;
``coop`` and ``coop-nocomm`` give agent1 the lower feature id and agent2 the higher.
"""

import enum
import uuid
from dataclasses import dataclass

from coopbench.errors import ConfigError

# Fixed namespace: the same (run, pair, setting) always gets the same job id, on every host.
JOB_ID_NAMESPACE = uuid.UUID("6f1c2a52-8d0e-4c55-9a51-0c00be4c0001")


class Setting(enum.StrEnum):
    solo = "solo"
    coop = "coop"
    coop_nocomm = "coop-nocomm"
    gold = "gold"  # `coopbench gold-check`: merge the two gold patches; no agents, no tests

    @property
    def layout_name(self) -> str:
        """The setting directory of upstream's log layout (it knows only solo and coop)."""
        return "solo" if self is Setting.solo else "coop"


AGENT_SETTINGS = (Setting.solo, Setting.coop, Setting.coop_nocomm)


def parse_settings(text: str) -> list[Setting]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    known = ", ".join(s.value for s in AGENT_SETTINGS)
    if not names:
        raise ConfigError(f"no setting given; choose from {known}")
    settings: list[Setting] = []
    for name in names:
        try:
            setting = Setting(name)
            if setting not in AGENT_SETTINGS:
                raise ValueError(name)
        except ValueError:
            raise ConfigError(f"unknown setting {name!r}; choose from {known}") from None
        if setting not in settings:
            settings.append(setting)
    return settings


def job_id(run: str, repo: str, task_id: int, features: tuple[int, ...], setting: str) -> str:
    key = f"{run}|{repo}|{task_id}|{','.join(map(str, features))}|{setting}"
    return str(uuid.uuid5(JOB_ID_NAMESPACE, key))


@dataclass(frozen=True)
class Assignment:
    """One agent of a job: its id and the features it implements, in prompt order."""

    agent_id: str
    feature_ids: tuple[int, ...]


def assignments(setting: str, features: tuple[int, ...]) -> list[Assignment]:
    if setting == Setting.solo:
        return [Assignment("solo", tuple(features))]
    low, high = sorted(features)
    return [Assignment("agent1", (low,)), Assignment("agent2", (high,))]
