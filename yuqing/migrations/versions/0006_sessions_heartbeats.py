"""users: session version and forced password change; heartbeats

``users.session_version`` is raised by a logout or a password change, so a session cookie
copied before it stops working; ``users.must_change_password`` marks a temporary password set
by an administrator. ``heartbeats`` holds one row per health checker, written on each check,
so a store that reads but cannot write is reported down.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 17:00:00
"""
import sqlalchemy as sa
from alembic import op

import yuqing.models.base

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('users') as batch:
        batch.add_column(sa.Column('session_version', sa.Integer(), server_default='0', nullable=False))
        batch.add_column(sa.Column('must_change_password', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.create_table(
        'heartbeats',
        sa.Column('name', sa.String(length=50), nullable=False),
        sa.Column('at', yuqing.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('name'),
    )


def downgrade() -> None:
    op.drop_table('heartbeats')
    with op.batch_alter_table('users') as batch:
        batch.drop_column('must_change_password')
        batch.drop_column('session_version')
