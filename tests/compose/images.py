"""The compose stack's images, built beside the rest of the suite.

``scripts/compose-images.sh`` takes about three minutes on a fresh engine, nearly all of it
downloads (Debian's docker.io, the locked Python packages) and bytecode compilation, while
most other tests wait on leases, timeouts and polls. So ``tests/conftest.py`` starts the
build when the session starts (if a test that needs the images was collected) and runs
those tests last; their fixture waits for the build and fails with its log if it failed.
"""

import os
import signal
import subprocess
from pathlib import Path

import pytest

from tests.compose.stack import REPO_ROOT

MODULE = "test_compose.py"
BUILD_TIMEOUT_S = 1200
LOG_TAIL = 40  # lines of the build's output shown when it failed


class BackgroundBuild:
    def __init__(self, log_path: Path):
        self.log_path = log_path
        self._process: subprocess.Popen | None = None

    def start(self) -> None:
        with self.log_path.open("wb") as log:
            self._process = subprocess.Popen(
                ["bash", str(REPO_ROOT / "scripts" / "compose-images.sh")],
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def wait(self) -> None:
        """Until the images are built; a failed build fails the test that needs them."""
        try:
            code = self._process.wait(timeout=BUILD_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.stop()
            pytest.fail(f"compose-images.sh ran past {BUILD_TIMEOUT_S} s:\n{self._tail()}")
        if code != 0:
            pytest.fail(f"compose-images.sh failed (exit {code}):\n{self._tail()}")

    def stop(self) -> None:
        """At the session's end: a build still running (an interrupted session) is stopped."""
        if self._process is not None and self._process.poll() is None:
            os.killpg(self._process.pid, signal.SIGTERM)
            self._process.wait(timeout=60)

    def _tail(self) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-LOG_TAIL:])
