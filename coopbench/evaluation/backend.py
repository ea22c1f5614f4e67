"""The evaluation backend coopbench hands to upstream's scoring procedure.

It implements upstream's ``EvalBackend``/``Sandbox`` protocols (``eval/backends/base.py``)
with the semantics of upstream's Docker backend (``eval/backends/docker.py``): one container
per evaluation with the image's entrypoint cleared, commands run with ``exec_run`` in
``/workspace`` with stdout and stderr merged, a command over the time limit answers
``returncode -1`` and "Command timed out after N seconds". What is coopbench's:

- the container is coopbench's: labelled (run, job, attempt, host, worker, role), limited
  (memory, CPUs, pids, a container slot of this engine), on the run's network policy, and
  started from the job's image, whatever name upstream derives from the task;
- the time limit is real: upstream's executor waits for the command to finish after
  reporting the timeout, so a hung test hangs the evaluation; here every process of the
  command is killed instead (``kill -9 -1`` in the container spares only its PID 1), and
  the next command starts as upstream's would, after the timed-out one has ended;
- a Docker failure (the engine, a container removed under us when the job's claim was lost,
  which ends the running command as if it had finished, a command that ended without the
  engine returning its end) is remembered: upstream turns it
  into an evaluation ``error``, which is a score, so the caller raises it as an
  infrastructure error instead and the evaluation is retried.
"""

import logging
import threading
from contextlib import ExitStack
from dataclasses import dataclass

import docker
import docker.errors
import requests

from coopbench.errors import SandboxError
from coopbench.sandbox.ahead import SandboxAhead
from coopbench.sandbox.containers import Network, Sandbox, open_sandbox
from coopbench.sandbox.limits import NO_LIMITS, SandboxLimits
from coopbench.sandbox.removals import Removals

log = logging.getLogger(__name__)

KILL_GRACE_S = 30  # for a killed command's output stream to close
# Upstream's backend runs this in each evaluation container it starts, before anything else.
MAKE_PATCHES_DIR = ("mkdir", "-p", "/patches")
INFRA_ERRORS = (docker.errors.DockerException, requests.exceptions.RequestException, OSError)


@dataclass(frozen=True)
class ExecOutput:
    """Upstream's ``ExecResult``: the merged output is stdout, stderr is empty."""

    returncode: int
    output: str

    def stdout_read(self) -> str:
        return self.output

    def stderr_read(self) -> str:
        return ""


class EvalSandbox:
    def __init__(self, box: Sandbox, workdir: str, timeout: int | float,
                 backend: "CoopbenchEvalBackend", close: ExitStack):
        self._box, self._workdir, self._timeout = box, workdir, timeout
        self._backend, self._close = backend, close

    def exec(self, *args: str) -> ExecOutput:
        # What ``exec_run`` does, in its three calls: the exec's id tells a command still
        # running at the limit from an engine that never returned the end of one.
        api = self._box.container.client.api
        outcome: dict = {}
        try:
            exec_id = api.exec_create(self._box.id, list(args), workdir=self._workdir)["Id"]
        except INFRA_ERRORS as error:
            self._backend.failed(error)
            raise

        def run() -> None:
            try:
                outcome["output"] = api.exec_start(exec_id)
                outcome["exit_code"] = api.exec_inspect(exec_id)["ExitCode"]
            except BaseException as error:
                outcome["error"] = error

        runner = threading.Thread(target=run, name=f"eval-exec-{self._box.id[:8]}", daemon=True)
        runner.start()
        runner.join(self._timeout)
        if runner.is_alive():
            self._check_command_lives(exec_id)
            log.warning("container %s: command over %s s; killing its processes",
                        self._box.id[:12], self._timeout)
            self._kill_processes()
            runner.join(KILL_GRACE_S)
            return ExecOutput(-1, f"Command timed out after {self._timeout} seconds")
        if "error" in outcome:
            self._backend.failed(outcome["error"])
            raise outcome["error"]
        exit_code, output = outcome["exit_code"], outcome["output"]
        # A command whose container was killed or removed just ends, with no error but not
        # with 0 (137, or no code): a 0 is a command that finished, and needs no inspect.
        if exit_code != 0:
            self._check_running()
        return ExecOutput(exit_code, (output or b"").decode("utf-8", errors="replace"))

    def _check_running(self) -> None:
        container = self._box.container
        try:
            container.reload()
            running = container.status == "running"
        except docker.errors.NotFound:
            running = False
        except INFRA_ERRORS as error:
            self._backend.failed(error)
            raise
        if not running:
            error = SandboxError(f"container {self._box.id[:12]} stopped under the command")
            self._backend.failed(error)
            raise error

    def _check_command_lives(self, exec_id: str) -> None:
        """At the limit, a command that has ended, with no process of it left, is the
        engine's failure, not a time-out: the engine never returned the command's end
        (Docker's exec streams can hang, moby#38809), which upstream's backend would score
        as a test that timed out. A command whose processes live on (one it started in the
        background still holds its output open) times out as upstream's does."""
        api = self._box.container.client.api
        try:
            running = api.exec_inspect(exec_id).get("Running")
            live = running or self._processes_besides_init() > 0
        except INFRA_ERRORS as error:
            self._backend.failed(error)
            raise
        if not live:
            error = SandboxError(f"container {self._box.id[:12]}: the engine did not return the "
                                 f"end of a command that had ended, within {self._timeout} s")
            self._backend.failed(error)
            raise error

    def _processes_besides_init(self) -> int:
        """Processes in the container other than its PID 1 (``sleep infinity``) and zombies."""
        top = self._box.container.top(ps_args="-o pid,stat")
        stat = top["Titles"].index("STAT")
        return sum(1 for row in top.get("Processes") or [] if not row[stat].startswith("Z")) - 1

    def _kill_processes(self) -> None:
        try:
            self._box.container.exec_run(["bash", "-c", "kill -9 -1"], workdir="/")
        except INFRA_ERRORS as error:
            self._backend.failed(error)

    def terminate(self) -> None:
        self._close.close()


def make_patches_dir(box: Sandbox) -> None:
    """``MAKE_PATCHES_DIR`` in a container started ahead (``SandboxAhead``'s ``prepare``),
    as upstream's backend runs it: ``exec_run`` in ``/workspace``."""
    result = box.container.exec_run(list(MAKE_PATCHES_DIR), workdir="/workspace")
    if result.exit_code != 0:
        raise SandboxError(f"{' '.join(MAKE_PATCHES_DIR)} exited {result.exit_code}: "
                           f"{result.output.decode(errors='replace')[-500:]}")


class CoopbenchEvalBackend:
    """Makes each evaluation container; ``failure`` is the first infrastructure error seen."""

    def __init__(self, client: docker.DockerClient, image: str, container_name: str,
                 labels: dict[str, str], network: Network = Network.default,
                 limits: SandboxLimits = NO_LIMITS, removals: Removals | None = None,
                 ahead: SandboxAhead | None = None):
        self.client, self.image, self.container_name = client, image, container_name
        self.labels, self.network, self.limits = labels, network, limits
        self.removals = removals  # given: containers are removed in the background
        self.ahead = ahead  # given: the first sandbox's container, started while the agents ran
        self.failure: BaseException | None = None
        self._sandboxes = ExitStack()  # what upstream forgets to terminate is closed here
        self._count = 0

    def create_sandbox(self, image: str, timeout: int | float = 600,
                       workdir: str = "/workspace") -> EvalSandbox:
        if image != self.image:  # upstream derives akhatua/...; the run says what to use
            log.debug("evaluation of %s runs image %s", image, self.image)
        self._count += 1
        taken = self.ahead.take() if self.ahead is not None else None
        self.ahead = None  # upstream makes one sandbox per procedure; a second starts anew
        close = ExitStack()
        try:
            if taken is not None:
                box = taken[0]
                close.enter_context(taken[1])
            else:
                box = close.enter_context(open_sandbox(
                    self.client, self.image, f"{self.container_name}-{self._count}", self.labels,
                    self.network, self.limits, self.removals))
            sandbox = EvalSandbox(box, workdir, timeout, self, close)
            if taken is None:  # one started ahead ran it when it started (make_patches_dir)
                sandbox.exec(*MAKE_PATCHES_DIR)
        except BaseException:
            close.close()
            raise
        self._sandboxes.callback(close.close)
        return sandbox

    def failed(self, error: BaseException) -> None:
        if self.failure is None:
            self.failure = error

    def raise_failure(self) -> None:
        if self.failure is not None:
            raise SandboxError(f"evaluation container failed: {self.failure}") from self.failure

    def __enter__(self) -> "CoopbenchEvalBackend":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._sandboxes.close()
