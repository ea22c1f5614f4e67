"""One exported job's files in CooperBench's layout (reference 5.2-5.4), built from the job's
stored artefacts: ``result.json``, each agent's patch and trajectory, the coop conversation,
``eval.json``, and the files an upstream adapter wrote to its log folder.

Artefacts come in as stored (gzip) and go out as bytes: a file that is a stored artefact as
it was is written without being decoded and encoded again.
"""

import json
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from coopbench.export.atif import JOB_FILE, AtifJob, atif_trajectory, job_atif
from coopbench.export.files import compact_json_bytes, json_bytes
from coopbench.export.manifest import FinishedJob
from coopbench.job.hosted_agents import LOG_DIR_ARTIFACT
from coopbench.job.outcome import model_label, team_role
from coopbench.job.setting import assignments, setting_row
from coopbench.store import AgentRun, Artifact, Job


def job_files(item: FinishedJob, run_folder: str, log_dir: Path,
              artifacts: dict[str, bytes], atif: bool = True) -> dict[str, bytes]:
    """The files of one done job by name, from its current artefacts (gzip, by name without
    the ``eval/n/`` prefix). ``run_folder`` and ``log_dir`` go into ``result.json`` as
    upstream writes them: the run's folder name, and the job folder's path as the logs root
    was given (relative when --out is), which upstream's eval uses to find the files."""
    job = item.job

    def read(name: str, default: bytes) -> bytes:
        return Artifact.inflate(artifacts[name]) if name in artifacts else default

    result = dict(job.result or {})  # a copy: never change the ORM's value
    result["run_name"] = run_folder
    result["log_dir"] = str(log_dir)
    files = {"result.json": json_bytes(result)}
    runs = {run.agent_id: run for run in item.agent_runs}
    stored: dict[str, tuple[str, list]] = {}  # agent id -> (file name, messages decoded once)

    def trajectory(agent_id: str, fid: int | None, name: str) -> bytes:
        messages = message_list(json.loads(read(f"{agent_id}_traj.json", b"[]")))
        stored[agent_id] = (name, messages)
        return json_bytes(trajectory_json(job, runs.get(agent_id), agent_id, fid, messages))

    if not setting_row(job.setting).multi_agent:
        files["solo.patch"] = read("solo.patch", b"")
        files["solo_traj.json"] = trajectory("solo", None, "solo_traj.json")
    else:
        for agent in assignments(job.setting, job.features):  # files named by feature id
            fid = agent.feature_ids[0]
            files[f"agent{fid}.patch"] = read(f"{agent.agent_id}.patch", b"")
            name = f"agent{fid}_traj.json"
            files[name] = trajectory(agent.agent_id, fid, name)
        files["conversation.json"] = read("conversation.json", b"[]")
    if atif:
        files.update(atif_files(job, runs, stored))
    if "eval.json" in artifacts:
        files["eval.json"] = read("eval.json", b"")
    for name in artifacts:  # an upstream adapter's own files, where it wrote them
        if name.startswith(LOG_DIR_ARTIFACT):
            files[name.removeprefix(LOG_DIR_ARTIFACT)] = read(name, b"")
    return files


def trajectory_json(job: Job, agent_run: AgentRun | None, agent_id: str, feature_id: int | None,
                    messages: list) -> dict:
    """Upstream's trajectory file (reference 5.4) around the stored message list."""
    head: dict = {"repo": job.repo, "task_id": job.task_id}
    if feature_id is None:
        head["features"] = list(job.features)
    else:
        head["feature_id"] = feature_id
    return {
        **head,
        "agent_id": agent_id,
        **team_role(setting_row(job.setting).team, agent_id),
        "model": model_label(job.run),
        "status": agent_run.status if agent_run else "Error",
        "cost": (agent_run.cost_usd or 0.0) if agent_run else 0.0,
        "steps": agent_run.steps if agent_run else 0,
        "messages": message_list(messages),
    }


def message_list(stored: list | dict) -> list:
    """An agent's messages: the stored list, or the ``messages`` of a stored object."""
    return stored if isinstance(stored, list) else stored.get("messages", [])


def atif_name(cooperbench_name: str) -> str:
    """An agent's ATIF file, named after its CooperBench trajectory: ``agent1_traj.json`` ->
    ``agent1_traj.atif.json`` (``*.atif.json`` finds them all, and upstream reads neither)."""
    return cooperbench_name.removesuffix(".json") + ".atif.json"


def atif_files(job: Job, runs: dict[str, AgentRun], stored: dict[str, tuple[str, list]]
               ) -> dict[str, bytes]:
    """The job's ATIF documents (``coopbench.export.atif``): one per agent, each beside its
    CooperBench trajectory (``stored``: agent id -> that file's name and the messages), and
    the job's root document linking them."""
    names = {agent_id: atif_name(name) for agent_id, (name, _) in stored.items()}
    team = setting_row(job.setting).team
    atif_job = atif_job_facts(job, names)
    outcomes = {a: _outcome(runs.get(a), team, a) for a in names}
    files = {names[a]: compact_json_bytes(atif_trajectory(stored[a][1], a, atif_job, outcomes[a]))
             for a in names}
    files[JOB_FILE] = compact_json_bytes(job_atif(atif_job, outcomes))
    return files


def atif_job_facts(job: Job, agent_files: dict[str, str]) -> AtifJob:
    """What ``coopbench.export.atif`` needs of a stored job; ``agent_files``: each agent id
    of the job -> its ATIF file's name, in the job's order."""
    return AtifJob(job_id=job.id, agent_name=job.run.agent,
                   agent_version=_installed(_AGENT_PACKAGES.get(job.run.agent, "cooperbench")),
                   coopbench_version=_installed("coopbench"), model=job.run.model,
                   agent_files=agent_files,
                   facts={"run": job.run_name, "repo": job.repo, "task_id": job.task_id,
                          "features": list(job.features), "setting": job.setting})


# The package behind a run's agent; upstream's registry names are cooperbench's adapters.
_AGENT_PACKAGES = {"mini-swe-agent": "mini-swe-agent", "oracle": "coopbench"}


def _outcome(run: AgentRun | None, team: bool, agent_id: str) -> dict:
    """What the store recorded of an agent, for its ATIF document's ``extra``."""
    if run is None:
        return {"status": "Error", **team_role(team, agent_id)}
    return {"status": run.status, "feature_ids": list(run.feature_ids), "steps": run.steps,
            "cost_usd": run.cost_usd, "input_tokens": run.input_tokens,
            "output_tokens": run.output_tokens, "messages_sent": run.messages_sent,
            "messages_received": run.messages_received, **team_role(team, agent_id)}


@cache
def _installed(package: str) -> str:
    """The installed version (the store does not record which one ran the agent)."""
    try:
        return version(package)
    except PackageNotFoundError:
        return "unknown"
