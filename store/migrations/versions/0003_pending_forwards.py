"""Forwards waiting for an admin's confirmation are stored, so a restart between the forward and
the button press loses nothing (they were an in-memory dict before); a subscriber remembers why
the bot stopped sending to it, so re-adding the bot to the chat can resume its digests.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('pending_forwards',
    sa.Column('token', sa.String(length=64), nullable=False),
    sa.Column('chat_id', sa.BigInteger(), nullable=False),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('username', sa.String(length=100), nullable=True),
    sa.Column('message_id', sa.BigInteger(), nullable=False),
    sa.Column('posted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('url', sa.Text(), nullable=True),
    sa.Column('forwarded_from', sa.Text(), nullable=True),
    sa.Column('requested_by', sa.BigInteger(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('token')
    )
    op.create_index('ix_pending_forwards_created', 'pending_forwards', ['created_at'])
    with op.batch_alter_table('subscribers') as batch:
        batch.add_column(sa.Column('deactivated_reason', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('subscribers') as batch:
        batch.drop_column('deactivated_reason')
    op.drop_index('ix_pending_forwards_created', table_name='pending_forwards')
    op.drop_table('pending_forwards')
