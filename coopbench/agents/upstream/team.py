"""The host side of upstream's team harness for one attempt (``runner/team.py``).

Upstream's runner seeds a task list in Redis (one task per member's feature, pre-assigned,
and the lead's integration task), names a scratchpad volume that every agent container
mounts, and after the agents reads the task list's audit log into metrics. coopbench does
the same with upstream's ``TeamSession``, in the attempt's namespace, and creates the
scratchpad volume itself, labelled, so that the cleanup after a dead worker finds it.
"""

import contextlib
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field

import docker
import redis

from coopbench.sandbox.containers import LABEL_PREFIX
from coopbench.sandbox.networks import remove_volume

VOLUME_PREFIX = "cb-team"  # upstream's TEAM_VOLUME_PREFIX
SWITCHES = ("task_list", "scratchpad", "mcp", "auto_refresh", "protocol")


def harness_config(switches: dict | None):
    """Upstream's ``TeamHarnessConfig`` from the run's recorded switches (all on by default)."""
    from cooperbench.team_harness import TeamHarnessConfig

    return TeamHarnessConfig(**{name: bool((switches or {}).get(name, True)) for name in SWITCHES})


@dataclass
class TeamHarvest:
    """What upstream's runner adds to a team job's result.json and files."""

    metrics: dict | None = None
    files: dict[str, list] = field(default_factory=dict)  # task_log.json, tasks.json


@contextlib.contextmanager
def team_session(client: docker.DockerClient, bus: redis.Redis, namespace: str, url: str,
                 agents: list[str], features: list[int], switches: dict | None,
                 labels: dict[str, str]) -> Iterator[tuple[object, TeamHarvest]]:
    """Upstream's TeamSession for the attempt: the task list seeded, the scratchpad volume
    made; on leaving, the harvest filled in and the volume removed."""
    from cooperbench.team_harness import TeamSession

    config = harness_config(switches)
    volume_name = f"{VOLUME_PREFIX}-{namespace}" if config.scratchpad else ""
    session = TeamSession(run_id=namespace, redis_url=url, agents=agents,
                          team_volume=volume_name, config=config)
    harvest = TeamHarvest()
    volume = None
    if volume_name:
        volume = client.volumes.create(name=volume_name, labels={
            LABEL_PREFIX + key: value for key, value in labels.items()})
    try:
        task_list = session.task_list_client(redis_client=bus)
        if task_list is not None:
            _seed(task_list, agents, sorted(features))
        yield session, harvest
        if task_list is not None:
            harvest.metrics, events, tasks = session.harvest_metrics(task_list)
            harvest.files = {"task_log.json": events, "tasks.json": tasks}
    finally:
        if volume is not None:
            remove_volume(volume)


def _seed(task_list, agents: list[str], features: list[int]) -> None:
    """Upstream's pre-seeding, word for word: members' features, then the lead's task."""
    for agent_id, feature_id in zip(agents[1:], features[1:], strict=False):
        task_list.create(title=f"Implement feature {feature_id}", created_by="bench-runner",
                         owner=agent_id, metadata={"feature_id": feature_id, "assigned_to": agent_id})
    task_list.create(title=f"Lead-only: integrate and submit feature {features[0]}",
                     created_by="bench-runner", owner=agents[0],
                     metadata={"feature_id": features[0], "assigned_to": agents[0], "lead_task": True})


def switches_record(config) -> dict:
    """The switches as upstream's result.json records them (``team_features``)."""
    return {name: value for name, value in asdict(config).items() if name in SWITCHES}
