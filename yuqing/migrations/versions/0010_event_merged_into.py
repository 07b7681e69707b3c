"""events.merged_into: the event a merged event went into

When a later report shows two stored events to be one incident, analysis moves the newer
event's items into the older one and records it here (analysis/merging.py); the merged event's
page points to the kept one, and lists leave it out.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 18:40:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('events') as batch:
        batch.add_column(sa.Column('merged_into', sa.Integer(), nullable=True))
        batch.create_foreign_key('fk_events_merged_into_events', 'events', ['merged_into'], ['id'],
                                 ondelete='SET NULL')
        batch.create_index('ix_events_merged_into', ['merged_into'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('events') as batch:
        batch.drop_index('ix_events_merged_into')
        batch.drop_constraint('fk_events_merged_into_events', type_='foreignkey')
        batch.drop_column('merged_into')
