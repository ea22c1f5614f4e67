"""Running one job: claim it, run its agents in containers, evaluate, commit the outcome.

A plain function of (job id, services): the Celery task only calls ``run_job``, and a test
can call it without a broker. An exception becomes a stored state in ``failures``.

Each stage's outcome is committed when the stage ends (see ``store.results``): a job whose
agents finished but whose evaluation could not run keeps its patches, and its next attempt
goes straight to the evaluation.
"""

import contextlib
import json
import logging
from collections.abc import Callable

from coopbench.agents import AgentResult, AgentStatus, AgentTask, get_agent, is_hosted
from coopbench.agents.upstream.containers import stop_job
from coopbench.bus.message_bus import MessageBus
from coopbench.errors import LeaseLost
from coopbench.evaluation.evaluate import evaluate
from coopbench.evaluation.patches import TestFilter
from coopbench.job.agent_threads import CountDown, run_side_by_side
from coopbench.job.eval_stage import eval_container_ahead, eval_input
from coopbench.job.failures import classify, record_job_failure
from coopbench.job.gold import run_gold_merge
from coopbench.job.hosted_agents import run_hosted_agents
from coopbench.job.image import with_job_image
from coopbench.job.outcome import AgentsOutcome, agent_run_row, delete_bus_quietly, result_json
from coopbench.job.services import Services
from coopbench.job.setting import Channel, Harness, assignments
from coopbench.job.spec import JobSpec, load_job_spec, stored_patches
from coopbench.job.wall_clock import WallClock
from coopbench.sandbox.ahead import SandboxAhead
from coopbench.sandbox.containers import open_sandbox, remove_labelled
from coopbench.secrets import redact, redact_files, redact_text
from coopbench.store import JobState, utcnow
from coopbench.store.claims import Claim, Heartbeat, claim_job
from coopbench.store.results import (
    record_agents,
    record_job_evaluated,
    start_evaluation,
)

log = logging.getLogger(__name__)

__all__ = ["Services", "run_job"]


def run_job(job_id: str, services: Services) -> str | None:
    """Run the job if this delivery can claim it; return the state it ended in, or None."""
    settings = services.settings
    claim = claim_job(services.store, job_id, services.worker_name, settings.lease_s,
                      max_attempts=settings.infra_retries + 1,
                      retry_backoff_s=settings.retry_backoff_s)
    if claim is None:
        log.info("job %s: not claimable (finished, or held by another worker); skipping", job_id)
        return None

    def stop_containers() -> None:  # the claim is gone (cancelled, or taken over): stop now
        stop_job(job_id)  # upstream's agents: no further command, so no further model call
        remove_labelled(services.docker, {"job": job_id, "worker": services.worker_name})

    try:
        with Heartbeat(services.store, claim, settings.lease_s, on_lost=stop_containers) as heartbeat:
            return _run_claimed(claim, heartbeat, services, stop_containers)
    finally:  # after the heartbeat (the lease is released): the containers removed in the
        services.removals.wait()  # background; none outlives its job


def _run_claimed(claim: Claim, heartbeat: Heartbeat, services: Services,
                 stop_containers: Callable[[], None]) -> str:
    job_id = claim.job_id
    try:
        spec = with_job_image(load_job_spec(services.store, job_id), services)
        if spec.setting.harness is Harness.gold_merge:
            run_gold_merge(spec, claim, services)
            return JobState.done
        agents_attempt_id = spec.job.agents_attempt_id
        # The evaluation's container starts while the agents work, off the critical path.
        ahead = (eval_container_ahead(spec, claim.attempt_number, services)
                 if agents_attempt_id is None else None)
        with ahead or contextlib.nullcontext():
            if agents_attempt_id is None:
                outcome = run_agents(spec, claim, services, ahead and ahead.start_now)
                try:
                    _check_lease(heartbeat, claim)
                    _record_agents(services, spec, claim, outcome)
                finally:  # after the commit: a Redis blip here costs no agent's work
                    delete_bus_quietly(outcome.delete_bus, job_id)
                agents_attempt_id = claim.attempt_id
            else:
                log.info("job %s: agents already ran (attempt row %s); evaluating only",
                         job_id, agents_attempt_id)
            run_evaluation_stage(spec, claim, agents_attempt_id, services, ahead)  # fenced commit
        return JobState.done
    except BaseException as error:  # never left "running", whatever it was
        # First stop what may still run (an agent thread blocked past a time limit, the
        # other agent of a failed one): the attempt is over, and recorded at once.
        _stop_quietly(stop_containers, job_id)
        services.removals.wait()  # and those removed in the background: none outlives the attempt
        failure = classify(error, services.interruptions, _evidence(error))
        state = record_job_failure(services, claim, failure)
        if failure.reraise:  # a bug or an interruption: the worker sees it too
            raise
        return state


def run_agents(spec: JobSpec, claim: Claim, services: Services,
               containers_started: Callable[[], None] | None = None) -> AgentsOutcome:
    """Run the job's agents concurrently, each in its own container; coop agents get a
    channel on a message bus of this attempt, deleted when they are done.
    ``containers_started`` is called once every agent's container has started."""
    services.install_provider_limits()
    agent = get_agent(spec.run.agent)
    if is_hosted(agent):
        return run_hosted_agents(spec, claim, services, agent)
    plan = assignments(spec.job.setting, spec.feature_ids)
    ids = tuple(a.agent_id for a in plan)
    attempt = str(claim.attempt_number)
    messaging = spec.setting.channel is Channel.bus
    bus = None
    if messaging:
        bus = MessageBus(services.bus_redis, spec.run.name, spec.job.id, claim.attempt_number,
                         ids, ttl_s=int(2 * services.settings.job_timeout_s))

    starting = CountDown(len(plan), containers_started)

    def run_one(assignment) -> AgentResult:
        task = AgentTask(
            agent_id=assignment.agent_id,
            feature_ids=assignment.feature_ids,
            specs={fid: spec.features[fid].spec for fid in assignment.feature_ids},
            gold_patches={fid: spec.features[fid].gold_patch for fid in assignment.feature_ids},
            partner_ids=tuple(i for i in ids if i != assignment.agent_id),
            messaging=messaging,
            model=spec.run.model,
            step_limit=spec.run.step_limit,
            cost_limit_usd=spec.run.cost_limit_usd,
            command_timeout_s=services.settings.agent_timeout_s,
            agent_config=spec.run.config.get("agent_config") or {},
            channel=bus.channel(assignment.agent_id) if bus else None,
        )
        role = assignment.agent_id
        started = utcnow()
        wall = WallClock(services.settings.agent_wall_s)
        try:
            with open_sandbox(services.docker, spec.image, spec.container_name(attempt, role),
                              spec.labels(attempt, role, services.worker_name),
                              spec.sandbox_network, services.sandbox_limits,
                              services.removals) as box:
                starting.count()
                with wall.watching(box.kill):
                    result = agent.run(task, box)
            return wall.limit_result(result) if wall.expired else result
        except Exception as error:
            if wall.expired:  # the container was stopped under the agent: its limit, not ours
                return wall.limit_result(getattr(error, "partial_result", None) or AgentResult(
                    role, assignment.feature_ids, AgentStatus.error, started, utcnow()))
            raise  # an agent returns its own outcomes; what it raises goes to ``failures``
        finally:
            if task.channel is not None:  # the partner must not wait for a gone agent
                task.channel.finish()

    try:
        results = run_side_by_side(run_one, plan)
        feature_of = {a.agent_id: a.feature_ids[0] for a in plan}
        conversation = bus.conversation_json(feature_of) if bus else []
    except BaseException:
        delete_bus_quietly(bus and bus.delete, spec.job.id)
        raise
    return AgentsOutcome(results, conversation, delete_bus=bus and bus.delete)


def run_evaluation_stage(spec: JobSpec, claim: Claim, agents_attempt_id: int,
                         services: Services, ahead: SandboxAhead | None = None) -> None:
    test_filter = TestFilter.of_run(spec.run.config)
    evaluation = start_evaluation(services.store, claim, agents_attempt_id, test_filter)
    # From the store, not memory: the very patches a retry or a re-evaluation would read.
    patches = stored_patches(services.store, spec, agents_attempt_id)
    outcome = evaluate(services.docker, eval_input(spec, evaluation, patches, services, ahead=ahead))
    record_job_evaluated(services.store, claim, evaluation, outcome)


def _record_agents(services: Services, spec: JobSpec, claim: Claim, outcome: AgentsOutcome) -> None:
    results = outcome.results
    result = result_json(spec.run, spec.job, results, image={
        "name": spec.image_name, "digest": spec.image_digest, "id": spec.resolved_image},
        fields=outcome.result_fields)
    artifacts = {f"{r.agent_id}.patch": r.patch for r in results}
    artifacts.update({f"{r.agent_id}_traj.json": _dumps(r.trajectory) for r in results})
    if spec.setting.multi_agent:
        artifacts["conversation.json"] = _dumps(outcome.conversation)
    artifacts.update(outcome.log_files)
    # An agent litellm could not price makes the job's cost unknown, not a smaller number.
    cost = None if any(r.cost_usd is None for r in results) else result["total_cost"]
    rows = [agent_run_row(r) for r in results]
    for row in rows:
        row.error = row.error and redact_text(row.error)
    record_agents(services.store, claim, {"result": redact(result),
                                          "cost_usd": cost}, rows, redact_files(artifacts))


def _evidence(error: BaseException) -> dict[str, str]:
    """What an agent that stopped the job (bad credentials, provider down) had done."""
    partial = getattr(error, "partial_result", None)
    if not isinstance(partial, AgentResult):
        return {}
    return redact_files({f"{partial.agent_id}.patch": partial.patch,
                           f"{partial.agent_id}_traj.json": _dumps(partial.trajectory)})


def _stop_quietly(stop: Callable[[], None], job_id: str) -> None:
    try:
        stop()
    except Exception as error:  # the engine away: the cleanup removes them by their labels
        log.warning("job %s: stopping its containers failed: %s", job_id, error)


def _check_lease(heartbeat: Heartbeat, claim: Claim) -> None:
    if heartbeat.lost.is_set():
        raise LeaseLost(f"job {claim.job_id}: lease lost while running")


def _dumps(value: object) -> str:
    return json.dumps(value, indent=2, default=str)
