"""crawl evidence and hot lists: source unit and column on items, page snapshots, signals, hot-list ranks

Items get the 来源 unit (ContentSource) and the 栏目 (ColumnName) as their own fields, and the
state a later fetch found the page in (已删除 / 已修改). Raw bodies are kept compressed as
原文快照; signals (删帖, 改稿, 上榜) and hot-list entries with their ranks get their own tables.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 16:20:00
"""
from alembic import op
import sqlalchemy as sa
import yuqing.models.base


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

UTC = yuqing.models.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table('items') as batch:
        batch.add_column(sa.Column('source_unit', sa.String(length=200), nullable=False, server_default=''))
        batch.add_column(sa.Column('column_name', sa.String(length=200), nullable=False, server_default=''))
        batch.add_column(sa.Column('page_state', sa.String(length=10), nullable=False, server_default=''))
        batch.add_column(sa.Column('page_state_at', UTC, nullable=True))
        batch.create_index('ix_items_analysed_at', ['analysed_at'], unique=False)
    op.create_table('page_snapshots',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('url', sa.Text(), nullable=False),
    sa.Column('status', sa.Integer(), nullable=False),
    sa.Column('fetched_at', UTC, nullable=False),
    sa.Column('expires_at', UTC, nullable=False),
    sa.Column('body_hash', sa.String(length=64), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('headers', sa.JSON(), nullable=False),
    sa.Column('body', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_page_snapshots_item_id_items'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_page_snapshots'))
    )
    op.create_index('ix_page_snapshots_item_fetched', 'page_snapshots', ['item_id', 'fetched_at'], unique=False)
    op.create_index(op.f('ix_page_snapshots_expires_at'), 'page_snapshots', ['expires_at'], unique=False)
    op.create_table('crawl_signals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('at', UTC, nullable=False),
    sa.Column('source_id', sa.Integer(), nullable=True),
    sa.Column('item_id', sa.Integer(), nullable=True),
    sa.Column('event_id', sa.Integer(), nullable=True),
    sa.Column('rank', sa.Integer(), nullable=True),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_crawl_signals_event_id_events'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_crawl_signals_item_id_items'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['source_id'], ['sources.id'], name=op.f('fk_crawl_signals_source_id_sources'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_crawl_signals'))
    )
    op.create_index(op.f('ix_crawl_signals_kind'), 'crawl_signals', ['kind'], unique=False)
    op.create_index(op.f('ix_crawl_signals_at'), 'crawl_signals', ['at'], unique=False)
    op.create_index(op.f('ix_crawl_signals_item_id'), 'crawl_signals', ['item_id'], unique=False)
    op.create_index(op.f('ix_crawl_signals_event_id'), 'crawl_signals', ['event_id'], unique=False)
    op.create_table('hotlist_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source_id', sa.Integer(), nullable=False),
    sa.Column('entry_key', sa.String(length=64), nullable=False),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('url', sa.Text(), nullable=False),
    sa.Column('first_seen_at', UTC, nullable=False),
    sa.Column('last_seen_at', UTC, nullable=False),
    sa.Column('rank', sa.Integer(), nullable=True),
    sa.Column('best_rank', sa.Integer(), nullable=False),
    sa.Column('heat', sa.Integer(), nullable=True),
    sa.Column('gone_at', UTC, nullable=True),
    sa.Column('event_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_hotlist_entries_event_id_events'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['source_id'], ['sources.id'], name=op.f('fk_hotlist_entries_source_id_sources'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hotlist_entries'))
    )
    op.create_index('ix_hotlist_entries_source_key', 'hotlist_entries', ['source_id', 'entry_key'], unique=True)
    op.create_index(op.f('ix_hotlist_entries_event_id'), 'hotlist_entries', ['event_id'], unique=False)
    op.create_table('hotlist_ranks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('at', UTC, nullable=False),
    sa.Column('rank', sa.Integer(), nullable=False),
    sa.Column('heat', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['entry_id'], ['hotlist_entries.id'], name=op.f('fk_hotlist_ranks_entry_id_hotlist_entries'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hotlist_ranks'))
    )
    op.create_index(op.f('ix_hotlist_ranks_entry_id'), 'hotlist_ranks', ['entry_id'], unique=False)


def downgrade() -> None:
    op.drop_table('hotlist_ranks')
    op.drop_table('hotlist_entries')
    op.drop_table('crawl_signals')
    op.drop_table('page_snapshots')
    with op.batch_alter_table('items') as batch:
        batch.drop_index('ix_items_analysed_at')
        batch.drop_column('page_state_at')
        batch.drop_column('page_state')
        batch.drop_column('column_name')
        batch.drop_column('source_unit')
