"""The evaluation stage: inside a job after its agents, or alone (``coopbench evaluate``).

Alone, an evaluation is claimed, heartbeaten and fenced on its own row exactly as a job is,
so a redelivered message never evaluates twice, and it reads the agents' patches from the
store: the agents never run again.
"""

import functools
import logging

from coopbench.errors import LeaseLost
from coopbench.evaluation.backend import make_patches_dir
from coopbench.evaluation.evaluate import EvalInput, evaluate
from coopbench.evaluation.patches import TestFilter
from coopbench.job.failures import classify, record_evaluation_failure
from coopbench.job.image import with_job_image
from coopbench.job.services import Services
from coopbench.job.spec import JobSpec, load_job_spec, stored_patches
from coopbench.sandbox.ahead import SandboxAhead
from coopbench.sandbox.containers import open_sandbox
from coopbench.store import Evaluation, EvaluationState
from coopbench.store.claims import EvaluationClaim, Heartbeat, claim_evaluation
from coopbench.store.results import record_evaluation_done

log = logging.getLogger(__name__)

# When an evaluation's container started ahead starts if the agents give no sign that theirs
# have (upstream's adapters start theirs with `docker run`, about a second): well before any
# real agent is done, and taking it starts it at once anyway.
AGENTS_START_S = 5.0


def eval_input(spec: JobSpec, evaluation: Evaluation, patches: dict[int, str],
               services: Services, token: int = 0, ahead: SandboxAhead | None = None) -> EvalInput:
    """``token``: a standalone evaluation's claim, in its container names, so that a takeover
    on the same engine never collides with the containers of the holder it replaced.
    ``ahead``: the container from ``eval_container_ahead``, if the job started one."""
    attempt = f"e{evaluation.number}"
    return EvalInput(
        repo=spec.job.repo, task_id=spec.job.task_id, scoring=spec.setting.scoring,
        features=spec.feature_ids, patches=patches,
        tests_patches={fid: spec.features[fid].tests_patch for fid in spec.feature_ids},
        image=spec.image, labels=spec.labels(attempt, "eval", services.worker_name),
        container_name=spec.container_name(f"{attempt}t{token}", "eval"),
        network=spec.sandbox_network,
        timeout_s=services.settings.eval_timeout_s,
        test_filter=TestFilter(evaluation.test_filter),
        limits=services.sandbox_limits,
        removals=services.removals,
        ahead=ahead,
    )


def eval_container_ahead(spec: JobSpec, attempt: int, services: Services) -> SandboxAhead | None:
    """The job's evaluation container, started while its agents work (``SandboxAhead`` says
    when), prepared as upstream's backend prepares a new one: the same image,
    network and limits as ``eval_input`` gives the evaluation, labelled with the job's
    attempt (the evaluation's number does not exist yet). Not when container slots are
    limited (``max_containers``): it would hold a slot idle that another job's agents could
    use, for as long as the agents run."""
    if services.sandbox_limits.slots is not None:
        return None
    name = spec.container_name(str(attempt), "eval")
    return SandboxAhead(name, functools.partial(
        open_sandbox, services.docker, spec.image, name,
        spec.labels(str(attempt), "eval", services.worker_name), spec.sandbox_network,
        services.sandbox_limits, services.removals), delay_s=AGENTS_START_S,
        prepare=make_patches_dir)


def run_evaluation(evaluation_id: int, services: Services) -> str | None:
    """Run a standalone evaluation if this delivery can claim it; return its final state."""
    store, lease_s = services.store, services.settings.lease_s
    claim = claim_evaluation(store, evaluation_id, services.worker_name, lease_s)
    if claim is None:
        log.info("evaluation %s: not claimable (finished, or held by another worker)", evaluation_id)
        return None
    try:
        with Heartbeat(store, claim, lease_s) as heartbeat:
            try:
                return _evaluate_claimed(claim, evaluation_id, heartbeat, services)
            except BaseException as error:  # never left "running", whatever it was
                failure = classify(error, services.interruptions)
                state = record_evaluation_failure(store, claim, failure)
                if failure.reraise:  # a bug or an interruption: the worker sees it too
                    raise
                return state
    finally:  # after the heartbeat: its container, removed in the background
        services.removals.wait()


def _evaluate_claimed(claim: EvaluationClaim, evaluation_id: int, heartbeat: Heartbeat, services: Services) -> str:
    """The claimed evaluation's work: score the attempt's stored patches, record the result."""
    store = services.store
    with store.session() as session:
        evaluation = session.get(Evaluation, evaluation_id)
        session.expunge(evaluation)
    spec = with_job_image(load_job_spec(store, claim.job_id), services)
    patches = stored_patches(store, spec, evaluation.attempt_id)
    outcome = evaluate(services.docker, eval_input(spec, evaluation, patches, services, claim.token))
    if heartbeat.lost.is_set():
        raise LeaseLost(f"{claim.label}: lease lost while running")
    record_evaluation_done(store, claim, evaluation, outcome)
    return EvaluationState.done
