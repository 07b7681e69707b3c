"""events.account: the event's current account, kept as items arrive

Holds the title from the most authoritative recent report, the latest figures with the source
and time of each and their progression, and who reported first (yuqing.documents.current), so
pages, mails and documents read the same account without recounting the event's items.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 19:30:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('events') as batch:
        batch.add_column(sa.Column('account', sa.JSON(), server_default=sa.text("'{}'"), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('events') as batch:
        batch.drop_column('account')
