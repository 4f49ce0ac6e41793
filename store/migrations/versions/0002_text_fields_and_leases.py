"""Free-length text for feed URLs, titles, entry links and validators; the instance lease table.

SQLite never enforced ``VARCHAR(n)``, PostgreSQL does: a feed URL over 200 characters, a title
over 300, an entry link over 1,000 or an ETag over 300 worked on one and failed on the other.
Both now store them as ``TEXT``. ``instance_leases`` holds one row per role (``bot``) naming the
process that may act in it (see ``store.leases``).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

WIDENED = {
    'sources': {'ref': 200, 'name': 300, 'url': 1000, 'role': 300, 'etag': 300, 'last_modified': 100},
    'posts': {'url': 1000, 'forwarded_from': 300},
}


def upgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':  # SQLite stores any length already
        for table, columns in WIDENED.items():
            for column, length in columns.items():
                op.alter_column(table, column, type_=sa.Text(), existing_type=sa.String(length))
    op.create_table('instance_leases',
    sa.Column('role', sa.String(length=50), nullable=False),
    sa.Column('owner', sa.String(length=100), nullable=False),
    sa.Column('host', sa.Text(), nullable=False),
    sa.Column('pid', sa.Integer(), nullable=False),
    sa.Column('since', sa.DateTime(timezone=True), nullable=False),
    sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('role')
    )


def downgrade() -> None:
    op.drop_table('instance_leases')
    if op.get_bind().dialect.name == 'postgresql':
        for table, columns in WIDENED.items():
            for column, length in columns.items():
                op.alter_column(table, column, type_=sa.String(length), existing_type=sa.Text())
