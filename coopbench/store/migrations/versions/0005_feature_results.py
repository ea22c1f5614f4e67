"""per-feature results of an evaluation in one JSON column, for any number of features

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 10:15:00
"""

import json

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('evaluations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('feature_results', sa.JSON(), nullable=True))
    connection = op.get_bind()
    rows = connection.execute(sa.text(
        "SELECT e.id, j.features, e.feature1_passed, e.feature2_passed "
        "FROM evaluations e JOIN jobs j ON j.id = e.job_id "
        "WHERE e.feature1_passed IS NOT NULL OR e.feature2_passed IS NOT NULL")).all()
    updates = []
    for evaluation_id, features, first, second in rows:
        features = _decoded(features)
        updates.append({"id": evaluation_id,
                        "results": {str(features[0]): bool(first), str(features[1]): bool(second)}})
    if updates:  # one executemany, not a round trip per evaluation
        connection.execute(sa.text("UPDATE evaluations SET feature_results = :results WHERE id = :id")
                           .bindparams(sa.bindparam("results", type_=sa.JSON())), updates)
    with op.batch_alter_table('evaluations', schema=None) as batch_op:
        batch_op.drop_column('feature2_passed')
        batch_op.drop_column('feature1_passed')


def downgrade() -> None:
    with op.batch_alter_table('evaluations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('feature1_passed', sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column('feature2_passed', sa.Boolean(), nullable=True))
    connection = op.get_bind()
    rows = connection.execute(sa.text(
        "SELECT e.id, j.features, e.feature_results FROM evaluations e "
        "JOIN jobs j ON j.id = e.job_id WHERE e.feature_results IS NOT NULL")).all()
    updates = []
    for evaluation_id, features, results in rows:
        features, results = _decoded(features), _decoded(results)
        updates.append({"a": results.get(str(features[0])), "b": results.get(str(features[1])),
                        "id": evaluation_id})
    if updates:
        connection.execute(sa.text("UPDATE evaluations SET feature1_passed = :a, feature2_passed = :b "
                                   "WHERE id = :id"), updates)
    with op.batch_alter_table('evaluations', schema=None) as batch_op:
        batch_op.drop_column('feature_results')


def _decoded(value):
    """A JSON column as read by a raw query: decoded on PostgreSQL, text on SQLite."""
    return json.loads(value) if isinstance(value, str) else value
