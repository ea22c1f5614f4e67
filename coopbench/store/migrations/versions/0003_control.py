"""run control and a live view: a run's cost cap and cancellation time, a job's last
heartbeat, and the workers table

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 08:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('runs', sa.Column('cost_cap_usd', sa.Float(), nullable=True))
    op.add_column('runs', sa.Column('cancelled_at', sa.DateTime(), nullable=True))
    op.add_column('jobs', sa.Column('heartbeat_at', sa.DateTime(), nullable=True))
    op.create_table('workers',
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('host', sa.String(length=255), nullable=False),
    sa.Column('concurrency', sa.Integer(), nullable=False),
    sa.Column('queues', sa.JSON(), nullable=False),
    sa.Column('limits', sa.JSON(), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('last_seen', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )


def downgrade() -> None:
    op.drop_table('workers')
    op.drop_column('jobs', 'heartbeat_at')
    op.drop_column('runs', 'cancelled_at')
    op.drop_column('runs', 'cost_cap_usd')
