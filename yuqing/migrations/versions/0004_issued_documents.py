"""issued_documents: the register of documents that left the building (发文登记)

Each 专报, 续报, 终报, 日报 and 要情专报 gets its 期号 here (numbered per series and year:
〔2026〕第 3 期), and records what it reported so a 续报 goes once per rise or change of figures.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 16:30:00
"""
import sqlalchemy as sa
from alembic import op

import yuqing.models.base

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('issued_documents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('series', sa.String(length=50), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=True),
    sa.Column('department_key', sa.String(length=50), nullable=False),
    sa.Column('referral_id', sa.Integer(), nullable=True),
    sa.Column('fingerprint', sa.String(length=200), nullable=False),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('path', sa.Text(), nullable=False),
    sa.Column('created_at', yuqing.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_issued_documents_event_id_events'),
                            ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['referral_id'], ['referrals.id'], name=op.f('fk_issued_documents_referral_id_referrals'),
                            ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_issued_documents')),
    sa.UniqueConstraint('series', 'year', 'number', name='uq_issued_documents_number'),
    sa.UniqueConstraint('kind', 'event_id', 'department_key', 'fingerprint', name='uq_issued_documents_once')
    )
    with op.batch_alter_table('issued_documents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_issued_documents_event_id'), ['event_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_issued_documents_referral_id'), ['referral_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('issued_documents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_issued_documents_referral_id'))
        batch_op.drop_index(batch_op.f('ix_issued_documents_event_id'))
    op.drop_table('issued_documents')
