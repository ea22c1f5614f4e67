"""provider limits shared by all hosts: each agent run's time waiting at them

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 16:50:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('agent_runs', sa.Column('provider_wait_s', sa.Float(), nullable=False,
                                          server_default='0'))


def downgrade() -> None:
    with op.batch_alter_table('agent_runs', schema=None) as batch_op:
        batch_op.drop_column('provider_wait_s')
