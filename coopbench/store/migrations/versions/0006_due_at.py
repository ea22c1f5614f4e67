"""retries from the store: a job's due time, the earliest its next attempt may start

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 16:05:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('jobs', sa.Column('due_at', sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_column('due_at')
