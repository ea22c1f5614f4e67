"""mini-swe-agent's DockerEnvironment, on the container the runner started for the agent.

The package's class starts its own container with the docker CLI; ours is already running
(``Sandbox``, labelled and removed by the runner), so only ``execute`` is replaced: the
command goes through ``Sandbox.exec``, and ``send_message`` calls are taken out of it
first. The submission check (``_check_finished``), the config and ``serialize`` are the
package's.
"""

import logging
import time
from typing import Any

from minisweagent.environments.docker import DockerEnvironment, DockerEnvironmentConfig

from coopbench.agents.mini_swe_messaging import Messenger
from coopbench.sandbox.containers import COMMAND_ENV, WORKDIR, Sandbox

log = logging.getLogger(__name__)


class SandboxEnvironment(DockerEnvironment):
    def __init__(self, sandbox: Sandbox, timeout_s: float, messenger: Messenger | None = None):
        # Not super().__init__: that would start a second container.
        self.logger = log
        self.sandbox = sandbox
        self.messenger = messenger
        self.timeout_s = timeout_s
        self.container_id = sandbox.id
        self.config = DockerEnvironmentConfig(
            image=_image_of(sandbox), cwd=WORKDIR, env=COMMAND_ENV, timeout=int(timeout_s))

    def get_template_vars(self, **kwargs) -> dict[str, Any]:
        # Deliberately without platform.uname(): the prompt must describe the container,
        # not the worker host (upstream told agents on macOS workers to use `sed -i ''`).
        return {"cwd": self.config.cwd, "command_timeout_s": self.timeout_s, **kwargs}

    def execute(self, action: dict, cwd: str = "", *, timeout: int | None = None) -> dict[str, Any]:
        command = action.get("command", "")
        sent = self.messenger.send_from(command) if self.messenger else None
        if sent is not None:
            if sent.failed or not sent.remainder:
                return {"output": "\n".join(sent.lines) + "\n", "returncode": 1 if sent.failed else 0,
                        "exception_info": ""}
            command = sent.remainder
        output = self._run(command, cwd or self.config.cwd, timeout or self.timeout_s)
        # The submission sentinel counts in the command's own output, before the send
        # confirmations are put in front of it.
        self._check_finished(output)
        if sent is not None:
            output["output"] = "\n".join(sent.lines) + "\n" + output["output"]
        return output

    def _run(self, command: str, cwd: str, timeout_s: float) -> dict[str, Any]:
        started = time.monotonic()
        result = self.sandbox.exec(command, timeout_s=timeout_s, workdir=cwd, kill_on_timeout=False)
        # 124 is also what a `timeout` in the agent's own command returns; only a run that
        # lasted the whole limit (Sandbox.exec gives `timeout` whole seconds) is ours.
        limit_s = int(max(timeout_s, 1))
        if result.killed or (result.returncode == 124 and time.monotonic() - started >= limit_s):
            return {
                "output": result.output,
                "returncode": -1,
                "exception_info": f"An error occurred while executing the command: "
                                  f"the command timed out after {timeout_s:g} seconds",
                "extra": {"exception_type": "TimeoutExpired"},
            }
        return {"output": result.output, "returncode": result.returncode, "exception_info": ""}

    def cleanup(self) -> None:
        """Nothing: the runner owns the container and removes it."""


def _image_of(sandbox: Sandbox) -> str:
    try:
        return sandbox.container.attrs["Config"]["Image"]
    except (AttributeError, KeyError, TypeError):
        return ""
