"""The code's own rules, checked by the tools that keep them: the import layering of
``pyproject.toml`` (import-linter) and the lint rule set (ruff)."""

import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _run(*command: str) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)


def test_import_contracts_are_kept():
    result = _run(str(BIN / "lint-imports"), "--no-cache")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout


def test_ruff_is_clean():
    result = _run(str(BIN / "ruff"), "check", "--no-cache", ".")
    assert result.returncode == 0, result.stdout[-4000:]


def test_importing_the_packages_builds_no_celery_app_and_sets_no_environment():
    code = ("import os, sys; before = dict(os.environ); import workers, workers.tasks, "
            "workers.celery_app, scheduler.enqueue, coopbench.cli; "
            "assert dict(os.environ) == before, 'environment written at import'; "
            "from workers.celery_app import get_app; "
            "assert get_app.cache_info().currsize == 0, 'a Celery app was built at import'")
    result = _run(sys.executable, "-c", code)
    assert result.returncode == 0, result.stderr[-3000:]
