"""The call upstream's runner makes to an adapter, argument for argument.

``runner/solo.py`` (``_spawn_solo_agent``) and ``runner/coop.py`` (``_spawn_agent``) of the
installed ``cooperbench`` build these; coopbench builds the same from its job, so that an
adapter cannot tell which of the two called it. Only the image (coopbench's resolved task
image), the namespace of the messaging URL and the log folder are coopbench's.
"""

from dataclasses import asdict, dataclass
from pathlib import Path

import yaml

BACKEND = "docker"  # coopbench runs every container on the worker's Docker engine


@dataclass(frozen=True)
class UpstreamCall:
    task: str
    image: str
    agent_id: str
    model_name: str
    agents: list[str] | None
    comm_url: str | None
    git_server_url: str | None
    git_enabled: bool
    messaging_enabled: bool
    config: dict
    agent_config: str | None
    log_dir: str | None
    team: dict | None = None  # team_role, team_id, task_list_url, team_features (team only)

    def kwargs(self) -> dict:
        kwargs = {key: value for key, value in asdict(self).items() if key != "team"}
        return {**kwargs, **(self.team or {})}


def solo_task_text(specs: list[tuple[int, str]]) -> str:
    """Every feature's spec under a heading, in the job's feature order (``solo.py``)."""
    return "\n\n---\n\n".join(f"## Feature {fid}\n\n{text}" for fid, text in specs)


def _with_agent_config(config: dict, agent_config: str | None) -> dict:
    # Upstream's runner updates its config with the whole --agent-config document,
    # shallowly, and also passes the path: the adapter deep-merges its ``config:`` block.
    if agent_config:
        document = yaml.safe_load(Path(agent_config).read_text())
        if document:
            config.update(document)
    return config


def solo_call(specs: list[tuple[int, str]], image: str, model_name: str,
              agent_config: str | None, log_dir: str | None) -> UpstreamCall:
    return UpstreamCall(
        task=solo_task_text(specs), image=image, agent_id="solo", model_name=model_name,
        agents=None, comm_url=None, git_server_url=None, git_enabled=False,
        messaging_enabled=False, config=_with_agent_config({"backend": BACKEND}, agent_config),
        agent_config=agent_config, log_dir=log_dir)


@dataclass(frozen=True)
class TeamCall:
    """What a team agent gets beyond a coop agent's."""

    volume: str  # the scratchpad's Docker volume ("" when the scratchpad is off)
    features: object  # upstream's TeamHarnessConfig


def _run_id(url: str | None) -> str | None:
    """The namespace of ``<redis>#run:<id>``, as upstream's runners read it back."""
    return url.split("#run:")[1] if url and "#run:" in url else None


def coop_call(spec: str, image: str, agent_id: str, agents: list[str], model_name: str, *,
              messaging_url: str, git_server_url: str | None, git_network: str | None,
              git_enabled: bool, messaging_enabled: bool, agent_config: str | None,
              log_dir: str | None, team: TeamCall | None = None) -> UpstreamCall:
    """One coop (``runner/coop.py``) or team (``runner/team.py``) agent. ``messaging_url``:
    ``<redis>#run:<namespace>``; the agent gets it only when the setting has messaging."""
    comm_url = messaging_url if messaging_enabled and len(agents) > 1 else None
    if team is None:
        config: dict = {"backend": BACKEND, "run_id": _run_id(comm_url)}
    else:  # the task list's URL is always namespaced
        config = {"backend": BACKEND, "run_id": _run_id(messaging_url), "team_volume": team.volume}
    if git_network:
        config["git_network"] = git_network
    return UpstreamCall(
        task=spec, image=image, agent_id=agent_id, model_name=model_name, agents=agents,
        comm_url=comm_url, git_server_url=git_server_url, git_enabled=git_enabled,
        messaging_enabled=messaging_enabled, config=_with_agent_config(config, agent_config),
        agent_config=agent_config, log_dir=log_dir,
        team=None if team is None else {
            "team_role": "lead" if agent_id == agents[0] else "member",
            "team_id": _run_id(messaging_url), "task_list_url": messaging_url,
            "team_features": team.features})
