"""item_search: a GIN index over the jieba tokens as an array (PostgreSQL)

Search on PostgreSQL asks for items whose tokens contain every query word; with the tokens as
an array (``string_to_array(btrim(tokens), ' ')``, the stored column is space-separated) a GIN
index answers that with ``@>`` instead of a LIKE scan of every row. SQLite keeps its FTS5
index (yuqing.dashboards.search), so nothing changes there.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 20:10:00
"""
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE INDEX ix_item_search_tokens_gin ON item_search "
                   "USING gin (string_to_array(btrim(tokens), ' '))")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX ix_item_search_tokens_gin")
