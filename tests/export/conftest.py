"""Fixtures of the export tests: the synthetic run of ``synthetic_run.py``, exported."""

import pytest

from coopbench.export.run_export import export_run
from tests.export.synthetic_run import RUN, build


@pytest.fixture
def exported(store, tmp_path):
    """The synthetic run in the store (SQLite or PostgreSQL), exported: (manifest, out)."""
    build(store)
    out = tmp_path / "export"
    return export_run(store, RUN, out), out
