"""The Alembic migrations build exactly the schema the models describe, on both databases."""

import json

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from coopbench.store import Store
from coopbench.store.engine import _alembic_config
from coopbench.store.models import Base


def test_migrations_match_the_models(store):
    with store.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    if store.engine.dialect.name == "sqlite":
        # SQLite cannot add a foreign key to an existing table; 0002 adds it on PostgreSQL only.
        differences = [d for d in differences
                       if not (d[0] == "add_fk" and d[1].parent.name == "artifacts")]
    assert differences == []


def test_upgrade_is_idempotent(store):
    store.upgrade()
    store.upgrade()
    assert {"runs", "jobs", "attempts", "evaluations", "artifacts"} <= set(
        inspect(store.engine).get_table_names())


def test_0005_keeps_each_features_result_by_feature_id_and_goes_back(database_url):
    """An evaluation stored with feature1_passed/feature2_passed (0004) keeps its results in
    ``feature_results`` (0005), keyed by the job's features in order; downgrading restores them."""
    store = Store(database_url)
    config = _alembic_config()
    with store.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0004")
        connection.execute(text(
            "INSERT INTO runs (name, created_at, dataset, agent, settings, step_limit, "
            "cost_limit_usd, image_template, config) VALUES ('r', CURRENT_TIMESTAMP, 'd', 'oracle', '[\"coop\"]', "
            "0, 0, 't', '{}')"))
        connection.execute(text(
            "INSERT INTO jobs (id, run_name, repo, task_id, features, setting, state, "
            "fencing_token, attempts, enqueued_at) VALUES ('j', 'r', 'repo', 1, '[7, 3]', 'solo', "
            "'done', 1, 1, CURRENT_TIMESTAMP)"))
        connection.execute(text(
            "INSERT INTO attempts (id, job_id, number, fencing_token, host, worker, state, "
            "started_at) VALUES (1, 'j', 1, 1, 'h', 'w', 'done', CURRENT_TIMESTAMP)"))
        connection.execute(text(
            "INSERT INTO evaluations (id, job_id, number, attempt_id, state, test_filter, "
            "fencing_token, requested_at, feature1_passed, feature2_passed) VALUES "
            "(1, 'j', 1, 1, 'done', 'upstream', 0, CURRENT_TIMESTAMP, :first, :second)"),
            {"first": True, "second": False})
        command.upgrade(config, "0005")
        stored = connection.execute(text("SELECT feature_results FROM evaluations")).scalar_one()
        assert (json.loads(stored) if isinstance(stored, str) else stored) == {"7": True, "3": False}
        command.downgrade(config, "0004")
        assert connection.execute(text(
            "SELECT feature1_passed, feature2_passed FROM evaluations")).one() == (True, False)
    store.dispose()
