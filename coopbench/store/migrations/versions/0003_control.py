"""run control: a run's cost cap and cancellation time

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 08:20:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('runs', sa.Column('cost_cap_usd', sa.Float(), nullable=True))
    op.add_column('runs', sa.Column('cancelled_at', sa.DateTime(), nullable=True))


def downgrade() -> None:
    op.drop_column('runs', 'cancelled_at')
    op.drop_column('runs', 'cost_cap_usd')
