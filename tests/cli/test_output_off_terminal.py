"""Off a terminal (stdout a pipe, as in scripts and CI logs) tables print every value whole:
no value cut to "0.…" to fit 80 columns, no id or error cut to a glance, no bracket read as
markup."""

import json
import re
import subprocess
import sys
import uuid
from datetime import timedelta

from rich.console import Console

from coopbench.export.summary_table import settings_table
from coopbench.store import Attempt, Job, Run, Store, Worker, utcnow

LONG_REPO = "a_rather_long_organisation_name_with_an_even_longer_repository_name_task"
LONG_HOST = "worker-host-number-seventeen.rack-four.datacentre-west.example.internal"
# Longer than the 100 characters a terminal shows, with brackets rich would take for markup.
ERROR = ("docker: [Errno 111] Connection refused while creating the agent container on "
         "unix:///var/run/docker.sock [/tmp/sandbox] after 3 tries")
FIGURES = {"pairs": 652, "done": 651, "patches": 1302, "evaluated": 650, "both_passed": 185,
           "pass_rate": 0.123456, "success_rate": 0.283742, "infra_errors": 10,
           "total_cost": 123456.789012, "wall_time_seconds": 1234567.891}
WHOLE_FIGURES = ["652", "651", "1302", "650", "185", "0.123", "0.284", "10", "123456.79", "1234567.9"]


def piped(*args: str, **run) -> str:
    """stdout of ``python ARGS`` through a pipe, with FORCE_COLOR set (as CI logs often have:
    rich then takes the pipe for a terminal), its colour codes removed."""
    result = subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=120, **run)
    assert result.returncode == 0, result.stderr
    return re.sub(r"\x1b\[[0-9;]*m", "", result.stdout)


def test_the_summary_table_prints_whole_figures_off_a_terminal():
    manifest = {"run": {"name": "a-run-name-long-enough-to-matter-2026-05-01"},
                "settings": {"coop-nocomm": FIGURES, "solo": {**FIGURES, "pass_rate": 1.0}}}
    code = ("import json, sys\n"
            "from coopbench.cli.common import console\n"
            "from coopbench.export.summary_table import settings_table\n"
            "console.print(settings_table(json.loads(sys.argv[1])))\n")
    out = piped("-c", code, json.dumps(manifest), env={"PATH": "/usr/bin:/bin", "FORCE_COLOR": "1"})
    assert "…" not in out
    row = next(line for line in out.splitlines() if "coop-nocomm" in line)
    assert [cell.strip() for cell in row.split("│")[2:-1]] == WHOLE_FIGURES


def test_the_summary_table_folds_rather_than_cuts_on_a_narrow_terminal():
    console = Console(width=70, force_terminal=True, record=True)
    console.print(settings_table({"run": {"name": "r"}, "settings": {"coop": FIGURES}}))
    text = console.export_text()
    assert "…" not in text
    cost_column = [line.split("│")[-3].strip() for line in text.splitlines() if line.count("│") > 2]
    assert "".join(cost_column) == "123456.79"


def test_status_prints_whole_ids_hosts_and_errors_off_a_terminal(tmp_path):
    url = f"sqlite:///{tmp_path / 'store.db'}"
    job = str(uuid.uuid4())
    worker = f"celery@{LONG_HOST}"
    store = Store(url)
    store.upgrade()
    now = utcnow()
    with store.session() as session, session.begin():
        session.add(Run(name="wide", created_at=now, dataset="/d", agent="oracle", model=None,
                        settings=["solo"], step_limit=0, cost_limit_usd=0.0,
                        image_template="img-{slug}:task{task_id}", config={}))
        session.add(Job(id=job, run_name="wide", repo=LONG_REPO, task_id=1234, features=[11, 12],
                        setting="solo", state="running", attempts=2, fencing_token=2, enqueued_at=now,
                        started_at=now - timedelta(minutes=3), heartbeat_at=now,
                        lease_owner=worker, lease_expires_at=now + timedelta(minutes=5)))
        session.add(Attempt(job_id=job, number=1, fencing_token=1, host=LONG_HOST, worker=worker,
                            state="failed", started_at=now - timedelta(minutes=5),
                            finished_at=now - timedelta(minutes=4), error_class="infra",
                            error=f"{ERROR}\nTraceback (most recent call last): ..."))
        session.add(Attempt(job_id=job, number=2, fencing_token=2, host=LONG_HOST, worker=worker,
                            state="running", started_at=now - timedelta(minutes=3)))
        session.add(Worker(name=worker, host=LONG_HOST, concurrency=4, queues=["coopbench"], limits={},
                           started_at=now, last_seen=now))
    store.dispose()

    out = piped("-m", "coopbench", "status", "--run", "wide", cwd=tmp_path,
                env={"PATH": "/usr/bin:/bin", "COOPBENCH_DATABASE_URL": url, "FORCE_COLOR": "1"})
    assert "…" not in out
    for whole in (job, LONG_HOST, worker, f"{LONG_REPO}/1234", ERROR, "ETA unknown"):
        assert whole in out, whole
