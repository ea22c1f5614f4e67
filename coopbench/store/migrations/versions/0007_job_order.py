"""longest expected job first: a job's predicted duration and its priority band

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 16:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('jobs', sa.Column('predicted_s', sa.Float(), nullable=True))
    op.add_column('jobs', sa.Column('priority', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_column('priority')
        batch_op.drop_column('predicted_s')
