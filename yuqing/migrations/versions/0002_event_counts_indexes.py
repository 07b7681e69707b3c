"""items: indexes for counting an event's items incrementally

Analysis keeps an event's counts up to date by adding the batch's new items, and asks the
store only what cannot be added up: the items of the last hour (velocity) and whether a source
already reported the event. Without these two indexes both questions read every item of the
event, which made each batch slower as events grew.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21 23:35:00
"""
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_items_event_fetched', 'items', ['event_id', 'fetched_at'], unique=False)
    op.create_index('ix_items_event_source', 'items', ['event_id', 'source_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_items_event_source', table_name='items')
    op.drop_index('ix_items_event_fetched', table_name='items')
