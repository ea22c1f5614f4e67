"""Every status value the store keeps, defined once as a string enum.

The columns are plain strings (``String(20)``): a value is compared and written as these
enums, and reads back as the same string on SQLite and PostgreSQL.
"""

import enum


class JobState(enum.StrEnum):
    queued = "queued"  # committed, waiting for a worker (its message may or may not be out)
    running = "running"  # claimed by a worker holding an unexpired lease
    done = "done"  # agents ran and were evaluated (whatever the score)
    failed = "failed"  # a configuration error: retrying cannot help
    failed_infra = "failed_infra"  # infrastructure kept failing
    cancelled = "cancelled"  # `coopbench cancel`, or the run's cost cap was reached


FINISHED_STATES = (JobState.done, JobState.failed, JobState.failed_infra, JobState.cancelled)


class AttemptState(enum.StrEnum):
    running = "running"
    done = "done"
    failed = "failed"  # a configuration error, or a bug of coopbench's (error_class says which)
    failed_infra = "failed_infra"
    abandoned = "abandoned"  # its claim was taken over (cancelled, or its lease expired)


class EvalStatus(enum.StrEnum):
    """A done job's evaluation: scored, or upstream's procedure recorded an error."""

    done = "done"
    error = "error"


class EngineImageState(enum.StrEnum):
    pulling = "pulling"
    present = "present"
    failed = "failed"
    removed = "removed"


class ErrorClass(enum.StrEnum):
    """Why an attempt or an evaluation failed (``coopbench.job.failures``)."""

    config = "config"  # the run's setup: the user must act; not retried
    infra = "infra"  # Docker, Redis, the store, the provider, a time limit: retried
    bug = "bug"  # coopbench's own code failed: not retried, the traceback kept


class EvaluationState(enum.StrEnum):
    queued = "queued"  # asked for by `coopbench evaluate`, waiting for a worker
    running = "running"
    done = "done"  # evaluated (its outcome may be an upstream evaluation error, see ``error``)
    failed = "failed"  # a configuration error or a bug of ours: retrying cannot help
    failed_infra = "failed_infra"  # the evaluation itself could not run
    abandoned = "abandoned"  # its claim was taken over
    cancelled = "cancelled"  # `coopbench cancel`
