"""evaluation as its own stage: evaluations table, the job's agents attempt and evaluation

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 08:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('evaluations',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('job_id', sa.String(length=36), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('attempt_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('test_filter', sa.String(length=20), nullable=False),
    sa.Column('fencing_token', sa.Integer(), nullable=False),
    sa.Column('lease_owner', sa.String(length=300), nullable=True),
    sa.Column('lease_expires_at', sa.DateTime(), nullable=True),
    sa.Column('requested_at', sa.DateTime(), nullable=False),
    sa.Column('published_at', sa.DateTime(), nullable=True),
    sa.Column('started_at', sa.DateTime(), nullable=True),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.Column('host', sa.String(length=255), nullable=True),
    sa.Column('worker', sa.String(length=300), nullable=True),
    sa.Column('merge_status', sa.String(length=20), nullable=True),
    sa.Column('merge_strategy', sa.String(length=20), nullable=True),
    sa.Column('naive_conflict', sa.Boolean(), nullable=True),
    sa.Column('feature1_passed', sa.Boolean(), nullable=True),
    sa.Column('feature2_passed', sa.Boolean(), nullable=True),
    sa.Column('both_passed', sa.Boolean(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['attempt_id'], ['attempts.id'], ),
    sa.ForeignKeyConstraint(['job_id'], ['jobs.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('job_id', 'number')
    )
    op.create_index(op.f('ix_evaluations_job_id'), 'evaluations', ['job_id'], unique=False)
    op.create_index(op.f('ix_evaluations_state'), 'evaluations', ['state'], unique=False)
    op.add_column('jobs', sa.Column('agents_attempt_id', sa.Integer(), nullable=True))
    op.add_column('jobs', sa.Column('evaluation_id', sa.Integer(), nullable=True))
    op.add_column('agent_runs', sa.Column('messages_received', sa.Integer(), nullable=False,
                                          server_default='0'))
    # A plain column on SQLite (adding a foreign key there means rebuilding the table);
    # the constraint exists on PostgreSQL.
    op.add_column('artifacts', sa.Column('evaluation_id', sa.Integer(), nullable=True))
    if op.get_bind().dialect.name != 'sqlite':
        op.create_foreign_key('fk_artifacts_evaluation_id', 'artifacts', 'evaluations',
                              ['evaluation_id'], ['id'])
    op.create_index(op.f('ix_artifacts_evaluation_id'), 'artifacts', ['evaluation_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_artifacts_evaluation_id'), table_name='artifacts')
    if op.get_bind().dialect.name != 'sqlite':
        op.drop_constraint('fk_artifacts_evaluation_id', 'artifacts', type_='foreignkey')
    op.drop_column('artifacts', 'evaluation_id')
    op.drop_column('agent_runs', 'messages_received')
    op.drop_column('jobs', 'evaluation_id')
    op.drop_column('jobs', 'agents_attempt_id')
    op.drop_index(op.f('ix_evaluations_state'), table_name='evaluations')
    op.drop_index(op.f('ix_evaluations_job_id'), table_name='evaluations')
    op.drop_table('evaluations')
