"""audit_log: an index on (target_type, target_id)

Every record's history reads the 操作日志 by its target: the alert's last notification
(grouping's last_round, on every update), the timeline of an event and its ticket, a referral's
downloads. Without the index each read scanned the whole log, which only grows.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 19:50:00
"""
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_audit_log_target', 'audit_log', ['target_type', 'target_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_audit_log_target', table_name='audit_log')
