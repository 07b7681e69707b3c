"""assessments: 事前研判 of draft policies (舆情风险评估), their revisions and temporary watches

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 16:40:00
"""
from alembic import op
import sqlalchemy as sa
import yuqing.models.base

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('assessments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('created_at', yuqing.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('updated_at', yuqing.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('final_revision', sa.Integer(), nullable=True),
    sa.Column('finalised_at', yuqing.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('finalised_by', sa.String(length=100), nullable=False),
    sa.Column('watch_words', sa.JSON(), nullable=False),
    sa.Column('watch_places', sa.JSON(), nullable=False),
    sa.Column('watch_starts_at', yuqing.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('watch_ends_at', yuqing.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('reviewed_at', yuqing.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('review', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assessments'))
    )
    with op.batch_alter_table('assessments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_assessments_state'), ['state'], unique=False)
        batch_op.create_index(batch_op.f('ix_assessments_watch_starts_at'), ['watch_starts_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_assessments_watch_ends_at'), ['watch_ends_at'], unique=False)

    op.create_table('assessment_revisions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('assessment_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('at', yuqing.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('by', sa.String(length=100), nullable=False),
    sa.Column('draft', sa.JSON(), nullable=False),
    sa.Column('result', sa.JSON(), nullable=False),
    sa.Column('changes', sa.JSON(), nullable=False),
    sa.Column('plan_path', sa.Text(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['assessment_id'], ['assessments.id'], name=op.f('fk_assessment_revisions_assessment_id_assessments'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assessment_revisions')),
    sa.UniqueConstraint('assessment_id', 'number', name=op.f('uq_assessment_revisions_assessment_id'))
    )
    with op.batch_alter_table('assessment_revisions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_assessment_revisions_assessment_id'), ['assessment_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('assessment_revisions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_assessment_revisions_assessment_id'))
    op.drop_table('assessment_revisions')
    with op.batch_alter_table('assessments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_assessments_watch_ends_at'))
        batch_op.drop_index(batch_op.f('ix_assessments_watch_starts_at'))
        batch_op.drop_index(batch_op.f('ix_assessments_state'))
    op.drop_table('assessments')
