"""Fixtures of the export tests: the synthetic run of ``synthetic_run.py``, exported."""

import pytest
from synthetic_run import RUN, build

from coopbench.export.run_export import export_run


@pytest.fixture
def exported(store, tmp_path):
    """The synthetic run in the store (SQLite or PostgreSQL), exported: (manifest, out)."""
    build(store)
    out = tmp_path / "export"
    return export_run(store, RUN, out), out
