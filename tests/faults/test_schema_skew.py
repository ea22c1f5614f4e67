"""Hosts at different coopbench versions: a worker does not start against a store whose
schema revision is not the one its coopbench reads (older: `db upgrade` first; newer:
upgrade coopbench on this host), and says so in one line. A store with no schema yet does
not stop it (every other worker test starts its workers before the first enqueue)."""

import time

import pytest
from sqlalchemy import text

from coopbench.ops.localcluster import LocalWorkers
from coopbench.store.engine import head_revision

EXIT_DEADLINE_S = 120  # the worker's start, before any upstream import


@pytest.mark.parametrize("revision, problem", [
    ("0001", "has schema revision 0001 and this coopbench reads {head}: run `coopbench db upgrade` first"),
    ("9999", "was migrated by a newer coopbench (schema revision 9999; this one knows up to "
             "{head}): upgrade coopbench here"),
])
def test_a_worker_refuses_a_store_of_another_schema_revision(settings, store, queue, tmp_path,
                                                             revision, problem):
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = :r"), {"r": revision})
    workers = LocalWorkers(settings, count=1, concurrency=1, log_dir=tmp_path, name_prefix="skew")
    workers.start()
    try:
        deadline = time.monotonic() + EXIT_DEADLINE_S
        while workers.alive():
            assert time.monotonic() < deadline, "the worker started against a mismatched store"
            time.sleep(0.2)
        assert workers.processes[0].returncode != 0
    finally:
        workers.stop()
    log = (tmp_path / "worker-1.log").read_text()
    assert f"error: the database {store.safe_url} {problem.format(head=head_revision())}\n" in log
    assert " ready." not in log
