"""The one exception tree of coopbench.

Every failure is classified once, here, by its type:

- ``ConfigError``: the user asked for something that cannot work (a missing dataset, an
  unknown setting, a missing image). Fail at once; retrying cannot help.
- ``InfraError``: something under us failed (Docker, Redis, the database, a lost lease).
  Worth retrying elsewhere or later.
- Agent outcomes (limits hit, failed tests, merge conflicts) are *not* exceptions: they are
  results, recorded and never retried.
- Anything else raised in coopbench's own code is a bug of ours: never the model's outcome.

The CLI turns a ``CoopbenchError`` into its message and ``exit_code``; a job's exception
becomes its stored state in one place, ``coopbench.job.failures``.
"""

import traceback
from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


class CoopbenchError(Exception):
    """Base of every error coopbench raises on purpose."""

    exit_code = 1


class ConfigError(CoopbenchError):
    """Bad input or configuration: the user must change something."""

    exit_code = 2


class DatasetError(ConfigError):
    """The dataset tree or a subset file is malformed or does not match the request."""


class InfraError(CoopbenchError):
    """A service we depend on failed; the same request may succeed later."""

    exit_code = 3


class StoreUnavailable(InfraError):
    """The SQL store cannot be reached."""


class BrokerUnavailable(InfraError):
    """The Celery broker (Redis) cannot be reached."""

    def __init__(self, message: str, sent: list[str] | None = None):
        super().__init__(message)
        self.sent = sent or []  # messages that did go out before the failure


class BusUnavailable(InfraError):
    """The Redis of the agents' message bus failed."""


class SandboxError(InfraError):
    """The Docker engine failed to create, run or remove a container."""


class LeaseLost(InfraError):
    """Another delivery took over this job; our results must not be committed."""


def raised_in_coopbench(error: BaseException) -> bool:
    """Whether ``error`` was raised by coopbench's own code (its innermost frame is in this
    package), rather than by a library an agent drives (litellm, mini-swe-agent)."""
    frames = traceback.extract_tb(error.__traceback__)
    return bool(frames) and Path(frames[-1].filename).resolve().is_relative_to(_PACKAGE_DIR)
