"""The containers upstream's adapters start, under coopbench's policy.

mini_swe_agent_v2, claude_code and codex start their container through one class,
``cooperbench.agents.mini_swe_agent_v2.environments.docker.DockerEnvironment``, which they
import when they run and which takes ``run_args`` but has no option the adapters pass
through. coopbench puts a subclass in its place once per process: with a policy set on the
current thread it adds coopbench's name, labels, limits and network to ``run_args``; with
none (upstream's own runner in the same process) it is upstream's class unchanged. A policy
is per thread because a job's agents run in threads of one process.
"""

import contextlib
import threading
from collections.abc import Iterator

from coopbench.sandbox.cli_policy import CliContainerPolicy

_current = threading.local()
_install_lock = threading.Lock()


@contextlib.contextmanager
def container_policy(policy: CliContainerPolicy) -> Iterator[None]:
    """Containers an adapter starts on this thread, inside the block, follow ``policy``."""
    install()
    _current.policy = policy
    try:
        yield
    finally:
        _current.policy = None


def current_policy() -> CliContainerPolicy | None:
    return getattr(_current, "policy", None)


def install() -> None:
    from cooperbench.agents.mini_swe_agent_v2.environments import docker as environments

    with _install_lock:
        if getattr(environments.DockerEnvironment, "coopbench_policy", False):
            return
        upstream = environments.DockerEnvironment

        class PolicyDockerEnvironment(upstream):
            coopbench_policy = True

            def __init__(self, **kwargs):
                policy = current_policy()
                if policy is not None:
                    kwargs["run_args"] = [*kwargs.get("run_args", ["--rm"]), *policy.run_args()]
                super().__init__(**kwargs)

        # What the adapters record of their environment (its class) stays upstream's.
        PolicyDockerEnvironment.__name__ = PolicyDockerEnvironment.__qualname__ = upstream.__name__
        PolicyDockerEnvironment.__module__ = upstream.__module__
        environments.DockerEnvironment = PolicyDockerEnvironment
