"""The containers upstream's adapters start, under coopbench's policy.

mini_swe_agent_v2, claude_code and codex start their container through one class,
``cooperbench.agents.mini_swe_agent_v2.environments.docker.DockerEnvironment``, which they
import when they run and which takes ``run_args`` but has no option the adapters pass
through. coopbench puts a subclass in its place once per process: with a policy set on the
current thread it adds coopbench's name, labels, limits and network to ``run_args``; with
none (upstream's own runner in the same process) it is upstream's class unchanged. A policy
is per thread because a job's agents run in threads of one process.

A policy can also be stopped (the agent's wall time is up, the job's claim is lost): every
command the agent runs after that raises ``AgentStopped`` instead of reaching a container,
which ends the agent's loop (upstream's adapter reports it as ``Error``) rather than letting
it go on calling its model against a removed container.
"""

import contextlib
import threading
from collections.abc import Iterator

from coopbench.sandbox.cli_policy import CliContainerPolicy

_current = threading.local()
_install_lock = threading.Lock()
_active: set[CliContainerPolicy] = set()  # policies of agents running in this process
_active_lock = threading.Lock()


class AgentStopped(RuntimeError):
    """Raised into an upstream agent's command once its policy was stopped."""


@contextlib.contextmanager
def container_policy(policy: CliContainerPolicy) -> Iterator[None]:
    """Containers an adapter starts on this thread, inside the block, follow ``policy``."""
    install()
    _current.policy = policy
    with _active_lock:
        _active.add(policy)
    try:
        yield
    finally:
        _current.policy = None
        with _active_lock:
            _active.discard(policy)


def current_policy() -> CliContainerPolicy | None:
    return getattr(_current, "policy", None)


def stop_job(job_id: str) -> int:
    """Stop every running agent of ``job_id`` in this process; how many there were."""
    with _active_lock:
        policies = [p for p in _active if p.labels.get("job") == job_id]
    for policy in policies:
        policy.stop()
    return len(policies)


def install() -> None:
    from cooperbench.agents.mini_swe_agent_v2.environments import docker as environments

    with _install_lock:
        if getattr(environments.DockerEnvironment, "coopbench_policy", False):
            return
        upstream = environments.DockerEnvironment

        class PolicyDockerEnvironment(upstream):
            coopbench_policy = True

            def __init__(self, **kwargs):
                self._policy = current_policy()
                if self._policy is not None:
                    kwargs["run_args"] = [*kwargs.get("run_args", ["--rm"]), *self._policy.run_args()]
                super().__init__(**kwargs)

            def execute(self, action: dict, cwd: str = "", *, timeout: int | None = None) -> dict:
                if self._policy is not None and self._policy.stopped.is_set():
                    raise AgentStopped(f"{self._policy.name}: stopped by coopbench "
                                       "(wall-time limit, or the job's claim was lost)")
                return super().execute(action, cwd, timeout=timeout)

        # What the adapters record of their environment (its class) stays upstream's.
        PolicyDockerEnvironment.__name__ = PolicyDockerEnvironment.__qualname__ = upstream.__name__
        PolicyDockerEnvironment.__module__ = upstream.__module__
        environments.DockerEnvironment = PolicyDockerEnvironment
