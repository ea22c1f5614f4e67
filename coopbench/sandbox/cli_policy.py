"""coopbench's container policy in the Docker CLI's words, for containers that upstream's
agent adapters start themselves (``docker run ... <run_args> <image>``).

The same labels, name, limits and network as ``open_sandbox`` gives its own containers, so
the lost-lease stop, the container slots and the cleanup after a dead worker treat both
alike.
"""

import threading
from dataclasses import dataclass, field

from coopbench.sandbox.containers import LABEL_PREFIX, PIDS_LIMIT, Network
from coopbench.sandbox.limits import NO_LIMITS, SandboxLimits


@dataclass(frozen=True, eq=False)  # one per agent run: compared and hashed by identity
class CliContainerPolicy:
    name: str
    labels: dict[str, str]
    network: Network = Network.default
    limits: SandboxLimits = field(default=NO_LIMITS)
    stopped: threading.Event = field(default_factory=threading.Event)

    def stop(self) -> None:
        """From now on the agent under this policy may not run anything (see
        ``agents.upstream.containers``)."""
        self.stopped.set()

    def run_args(self) -> list[str]:
        """Flags for ``docker run``; given after the adapter's own ``--name``, so ours wins
        (the CLI keeps the last value of a repeated flag)."""
        args = ["--name", self.name, f"--pids-limit={PIDS_LIMIT}"]
        for key, value in self.labels.items():
            args += ["--label", f"{LABEL_PREFIX}{key}={value}"]
        if self.limits.memory:
            args.append(f"--memory={self.limits.memory}")
        if self.limits.cpus:
            args.append(f"--cpus={self.limits.cpus:g}")
        if self.network is Network.none:
            args.append("--network=none")
        return args
