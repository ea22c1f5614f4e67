"""The one place where an exception of a job becomes what the store records.

Used by the agents' stage, the evaluation stage and standalone evaluations alike:

=====================  ===========  ===========================================================
exception              kind         recorded
=====================  ===========  ===========================================================
``LeaseLost``          lease_lost   the attempt abandoned; the job is its new holder's
``ConfigError``        config       job (or evaluation) ``failed``; the user must act
``InfraError``,        infra        retried while ``infra_retries`` lasts, then ``failed_infra``
the errors of the
services under us
(Docker, the store's
connection, Redis,
the network), an
interruption (a time
limit, a shutdown)
anything else          bug          ``failed``, with the traceback in the attempt; never
                                    counted against the model, never retried
=====================  ===========  ===========================================================

An agent's own outcomes (limits, an error the model's conversation ran into) are not
exceptions: the agent returns them as its result (``AgentStatus``).
"""

import enum
import traceback
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import docker
import redis
import requests
import sqlalchemy.exc

from coopbench.errors import ConfigError, InfraError, LeaseLost
from coopbench.secrets import redact_text
from coopbench.store import EvaluationState, JobState, Store
from coopbench.store.claims import Claim, EvaluationClaim, retry_delay_s
from coopbench.store.results import record_abandoned, record_evaluation_failed, record_failed, record_retry
from coopbench.store.states import ErrorClass

if TYPE_CHECKING:
    from coopbench.job.services import Services

TRACEBACK_CHARS = 20_000  # the innermost part of a bug's traceback, kept with its attempt

# What the services under a job raise when they are away or slow, whoever called them: the
# same request may well succeed later, so these are infrastructure, never a bug of ours.
SERVICE_ERRORS = (
    docker.errors.DockerException,
    requests.exceptions.RequestException,  # the Docker SDK's transport, unwrapped
    sqlalchemy.exc.OperationalError, sqlalchemy.exc.InterfaceError,
    sqlalchemy.exc.DisconnectionError,
    redis.exceptions.ConnectionError, redis.exceptions.TimeoutError,
    redis.exceptions.BusyLoadingError,
    ConnectionError, TimeoutError,
)


class FailureKind(enum.StrEnum):
    lease_lost = "lease_lost"
    config = "config"
    infra = "infra"
    bug = "bug"


@dataclass(frozen=True)
class Failure:
    kind: FailureKind
    message: str  # redacted: it is stored and shown
    traceback: str | None = None  # bugs only
    reraise: bool = False  # a bug or an interruption: the worker must see it too
    evidence: dict[str, str] = field(default_factory=dict)  # what an agent left, by file name

    @property
    def error_class(self) -> ErrorClass:
        return {FailureKind.config: ErrorClass.config, FailureKind.bug: ErrorClass.bug}.get(
            self.kind, ErrorClass.infra)

    @property
    def stored_error(self) -> str:
        """The attempt's ``error``: the message, and a bug's traceback after it."""
        return f"{self.message}\n\n{self.traceback}" if self.traceback else self.message


def classify(error: BaseException, interruptions: tuple[type[BaseException], ...] = (),
             evidence: dict[str, str] | None = None) -> Failure:
    """``interruptions``: what the worker's runtime raises into a job to stop it (Celery's
    soft time limit), which is infrastructure, not a bug. Anything not an ``Exception``
    (a shutdown, an interrupt) is one too."""
    message = redact_text(f"{error.__class__.__name__}: {error}")
    evidence = evidence or {}
    if isinstance(error, LeaseLost):
        return Failure(FailureKind.lease_lost, redact_text(str(error)))
    if isinstance(error, ConfigError):
        return Failure(FailureKind.config, redact_text(str(error)), evidence=evidence)
    if isinstance(error, (InfraError, *SERVICE_ERRORS)):
        return Failure(FailureKind.infra, message, evidence=evidence)
    if isinstance(error, interruptions) or not isinstance(error, Exception):
        return Failure(FailureKind.infra, message, reraise=True, evidence=evidence)
    trace = "".join(traceback.format_exception(error))[-TRACEBACK_CHARS:]
    return Failure(FailureKind.bug, message, redact_text(trace), reraise=True, evidence=evidence)


def record_job_failure(services: "Services", claim: Claim, failure: Failure) -> str | None:
    """Record a job attempt's failure; return the job's state (None: not ours any more)."""
    store, settings = services.store, services.settings
    if failure.kind is FailureKind.lease_lost:
        record_abandoned(store, claim, failure.message)
        return None
    if failure.kind is FailureKind.infra:
        if claim.attempt_number <= settings.infra_retries:
            # Due after its backoff, in the store: the sweeper publishes it then, so the
            # retry survives this worker (no delayed message for it to hold).
            delay_s = retry_delay_s(settings.retry_backoff_s, claim.attempt_number)
            if not record_retry(store, claim, failure.message, delay_s, failure.evidence):
                return None  # cancelled or taken over meanwhile
            return JobState.queued
        record_failed(store, claim, JobState.failed_infra, failure.error_class, failure.message,
                      failure.evidence)
        return JobState.failed_infra
    record_failed(store, claim, JobState.failed, failure.error_class, failure.stored_error,
                  failure.evidence)
    return JobState.failed


def record_evaluation_failure(store: Store, claim: EvaluationClaim, failure: Failure) -> str | None:
    """Record a standalone evaluation's failure (not retried: ``coopbench evaluate`` again is)."""
    if failure.kind is FailureKind.lease_lost:
        return None
    state = EvaluationState.failed_infra if failure.kind is FailureKind.infra else EvaluationState.failed
    record_evaluation_failed(store, claim, state, failure.stored_error)
    return state

