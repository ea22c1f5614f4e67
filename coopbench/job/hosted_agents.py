"""The agents stage of a job whose agent is one of upstream's adapters.

Each agent is one ``AgentRunner.run`` call, in a thread as upstream's runner makes it
(``agents.upstream.calls``), with coopbench around it: its containers follow the job's
policy (labels, limits, network) and hold a container slot; its wall-time limit; a
messaging namespace per attempt on the run's bus, deleted afterwards; coop-git's server
and network, team's session, per attempt. ``conversation.json`` is upstream's own
extraction (``agents.upstream.conversation``).
"""

import contextlib
import functools
import json
import tempfile
from pathlib import Path

import yaml

from coopbench.agents import AgentResult, AgentStatus, HostedAgent
from coopbench.agents.upstream.calls import TeamCall, UpstreamCall, coop_call, solo_call
from coopbench.agents.upstream.conversation import upstream_conversation
from coopbench.agents.upstream.git_server import GitServer, git_server
from coopbench.agents.upstream.team import switches_record, team_session
from coopbench.bus.upstream_namespace import delete_namespace, messaging_url, namespace
from coopbench.job.agent_threads import run_side_by_side
from coopbench.job.outcome import AgentsOutcome, delete_bus_quietly
from coopbench.job.services import Services
from coopbench.job.setting import AgentAssignment, Channel, assignments
from coopbench.job.spec import JobSpec
from coopbench.job.wall_clock import WallClock
from coopbench.sandbox.cli_policy import CliContainerPolicy
from coopbench.sandbox.containers import remove_labelled
from coopbench.store import utcnow
from coopbench.store.claims import Claim

LOG_DIR_ARTIFACT = "log_dir/"  # artefact names of the files an adapter wrote to its log_dir


def run_hosted_agents(spec: JobSpec, claim: Claim, services: Services,
                      agent: HostedAgent) -> AgentsOutcome:
    plan = assignments(spec.job.setting, spec.feature_ids)
    agent_ids = [a.agent_id for a in plan]
    attempt = claim.attempt_number
    row = spec.setting
    messaging = row.channel is Channel.bus
    url = messaging_url(services.settings.resolved_bus_url, spec.job.id, attempt)
    # The attempt's messaging (and team task list) keys, deleted once its outcome is
    # committed (run_job).
    delete_bus = (functools.partial(delete_namespace, services.bus_redis, spec.job.id, attempt)
                  if messaging or row.team else None)
    try:
        with tempfile.TemporaryDirectory(prefix="coopbench-agents-") as tmp:
            log_dir = Path(tmp) / "log_dir"
            log_dir.mkdir()
            agent_config = _agent_config_file(spec, Path(tmp))
            with contextlib.ExitStack() as stack:
                server = team = harvest = None
                if row.shared_git:
                    server = stack.enter_context(git_server(
                        services.docker, spec.container_name(str(attempt), "git"),
                        spec.labels(str(attempt), "git", services.worker_name)))
                if row.team:
                    session, harvest = stack.enter_context(team_session(
                        services.docker, services.bus_redis, namespace(spec.job.id, attempt), url,
                        agent_ids, list(spec.feature_ids), spec.run.config.get("team_features"),
                        spec.labels(str(attempt), "team", services.worker_name)))
                    team = TeamCall(volume=session.team_volume, features=session.config)
                calls = {a.agent_id: _call(spec, agent_ids, a, url, messaging, server, team,
                                           agent_config, str(log_dir)) for a in plan}

                def run_one(assignment: AgentAssignment) -> AgentResult:
                    return _run_agent(spec, services, agent, calls[assignment.agent_id],
                                      assignment, str(attempt))

                results = run_side_by_side(run_one, plan)
            # The stack has closed: git server and team volume removed, the team harvested.
            files = {LOG_DIR_ARTIFACT + str(path.relative_to(log_dir)): path.read_text(errors="replace")
                     for path in sorted(log_dir.rglob("*")) if path.is_file()}
    except BaseException:
        delete_bus_quietly(delete_bus, spec.job.id)
        raise
    if not row.multi_agent:
        return AgentsOutcome(results, [], files, delete_bus=delete_bus)
    conversation = upstream_conversation(results, team=row.team)
    fields: dict = {"messages_sent": len(conversation)}  # upstream counts conversation.json
    if harvest is not None:
        files |= {LOG_DIR_ARTIFACT + name: json.dumps(value, indent=2, default=str)
                  for name, value in harvest.files.items()}
        fields |= {"metrics": harvest.metrics or {}, "team_features": switches_record(team.features)}
    return AgentsOutcome(results, conversation, files, fields, delete_bus=delete_bus)


def _call(spec: JobSpec, agent_ids: list[str], assignment: AgentAssignment, url: str,
          messaging: bool, server: GitServer | None, team: TeamCall | None,
          agent_config: str | None, log_dir: str) -> UpstreamCall:
    features = spec.features
    if not spec.setting.multi_agent:
        return solo_call([(fid, features[fid].spec) for fid in assignment.feature_ids],
                         spec.image, spec.run.model or "", agent_config, log_dir)
    return coop_call(
        features[assignment.feature_ids[0]].spec, spec.image, assignment.agent_id, agent_ids,
        spec.run.model or "", messaging_url=url, git_server_url=server.url if server else None,
        git_network=server.network if server else None, git_enabled=server is not None,
        messaging_enabled=messaging, agent_config=agent_config, log_dir=log_dir, team=team)


def _run_agent(spec: JobSpec, services: Services, agent: HostedAgent, call: UpstreamCall,
               assignment: AgentAssignment, attempt: str) -> AgentResult:
    role = assignment.agent_id
    labels = spec.labels(attempt, role, services.worker_name)
    name = spec.container_name(attempt, role)
    limits = services.sandbox_limits
    policy = CliContainerPolicy(name, labels, spec.sandbox_network, limits)
    wall = WallClock(services.settings.agent_wall_s)
    started = utcnow()
    if limits.slots is not None:
        limits.slots.acquire(name)
    try:
        def stop() -> None:  # the agent may run nothing more; its container goes
            policy.stop()
            remove_labelled(services.docker, labels)

        with wall.watching(stop):
            result = agent.run(call, policy, assignment.feature_ids)
        return wall.limit_result(result) if wall.expired else result
    except Exception:
        if wall.expired:  # its container was removed under it: its limit, not ours
            return wall.limit_result(AgentResult(role, assignment.feature_ids, AgentStatus.error,
                                                 started, utcnow()))
        raise
    finally:
        remove_labelled(services.docker, labels)  # the adapter stops it in the background
        if limits.slots is not None:
            limits.slots.release(name)


def _agent_config_file(spec: JobSpec, folder: Path) -> str | None:
    """The run's --agent-config document, as the file upstream's runner is given."""
    document = spec.run.config.get("agent_config")
    if not document:
        return None
    path = folder / "agent-config.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return str(path)
