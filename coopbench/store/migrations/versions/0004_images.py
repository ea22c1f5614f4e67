"""task images: the digest each run runs, and what each Docker engine holds or pulls

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 07:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('run_images',
    sa.Column('run_name', sa.String(length=200), nullable=False),
    sa.Column('image', sa.String(length=300), nullable=False),
    sa.Column('digest', sa.String(length=400), nullable=False),
    sa.Column('image_id', sa.String(length=100), nullable=False),
    sa.Column('host', sa.String(length=255), nullable=False),
    sa.Column('recorded_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['run_name'], ['runs.name'], ),
    sa.PrimaryKeyConstraint('run_name', 'image')
    )
    op.create_table('engine_images',
    sa.Column('engine_id', sa.String(length=200), nullable=False),
    sa.Column('image', sa.String(length=400), nullable=False),
    sa.Column('host', sa.String(length=255), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('pulled', sa.Boolean(), nullable=False),
    sa.Column('image_id', sa.String(length=100), nullable=True),
    sa.Column('size_bytes', sa.BigInteger(), nullable=True),
    sa.Column('progress', sa.String(length=200), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('pull_started_at', sa.DateTime(), nullable=True),
    sa.Column('pull_finished_at', sa.DateTime(), nullable=True),
    sa.Column('last_used_at', sa.DateTime(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('engine_id', 'image')
    )


def downgrade() -> None:
    op.drop_table('engine_images')
    op.drop_table('run_images')
