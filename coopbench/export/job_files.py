"""One exported job's files in CooperBench's layout (reference 5.2-5.4), built from the job's
stored artefacts: ``result.json``, each agent's patch and trajectory, the coop conversation,
``eval.json``, and the files an upstream adapter wrote to its log folder.

Artefacts come in as stored (gzip) and go out as bytes: a file that is a stored artefact as
it was is written without being decoded and encoded again.
"""

import gzip
import json
from pathlib import Path

from coopbench.export.files import json_bytes
from coopbench.export.manifest import FinishedJob
from coopbench.job.hosted_agents import LOG_DIR_ARTIFACT
from coopbench.job.outcome import model_label, team_role
from coopbench.job.setting import assignments, setting_row
from coopbench.store import AgentRun, Job


def job_files(item: FinishedJob, run_folder: str, log_dir: Path,
              artifacts: dict[str, bytes]) -> dict[str, bytes]:
    """The files of one done job by name, from its current artefacts (gzip, by name without
    the ``eval/n/`` prefix). ``run_folder`` and ``log_dir`` go into ``result.json`` as
    upstream writes them: the run's folder name, and the job folder's path as the logs root
    was given (relative when --out is), which upstream's eval uses to find the files."""
    job = item.job

    def read(name: str, default: bytes) -> bytes:
        return gzip.decompress(artifacts[name]) if name in artifacts else default

    result = dict(job.result or {})  # a copy: never change the ORM's value
    result["run_name"] = run_folder
    result["log_dir"] = str(log_dir)
    files = {"result.json": json_bytes(result)}
    runs = {run.agent_id: run for run in item.agent_runs}

    def trajectory(agent_id: str, fid: int | None) -> bytes:
        messages = json.loads(read(f"{agent_id}_traj.json", b"[]"))
        return json_bytes(trajectory_json(job, runs.get(agent_id), agent_id, fid, messages))

    if not setting_row(job.setting).multi_agent:
        files["solo.patch"] = read("solo.patch", b"")
        files["solo_traj.json"] = trajectory("solo", None)
    else:
        for agent in assignments(job.setting, job.features):  # files named by feature id
            fid = agent.feature_ids[0]
            files[f"agent{fid}.patch"] = read(f"{agent.agent_id}.patch", b"")
            files[f"agent{fid}_traj.json"] = trajectory(agent.agent_id, fid)
        files["conversation.json"] = read("conversation.json", b"[]")
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
        "messages": messages if isinstance(messages, list) else messages.get("messages", []),
    }
