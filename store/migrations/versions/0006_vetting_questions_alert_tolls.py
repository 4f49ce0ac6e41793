"""Rejected channels are remembered (the bot leaves them again without asking), each admin's copy
of a question is kept (to show the decision on every copy), and the toll alert subscribers were
last told (a rising toll sends at most one update an hour).

Revision ID: 0006_vetting_alerts
Revises: 0005
Create Date: 2026-12-02
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0006_vetting_alerts'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('rejected_channels',
    sa.Column('chat_id', sa.BigInteger(), nullable=False),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('username', sa.String(length=100), nullable=True),
    sa.Column('rejected_by', sa.BigInteger(), nullable=True),
    sa.Column('rejected_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('chat_id')
    )
    op.create_table('admin_questions',
    sa.Column('topic', sa.String(length=100), nullable=False),
    sa.Column('chat_id', sa.BigInteger(), nullable=False),
    sa.Column('message_id', sa.BigInteger(), nullable=False),
    sa.Column('lang', sa.String(length=8), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('topic', 'chat_id', 'message_id')
    )
    op.create_table('alert_tolls',
    sa.Column('key', sa.String(length=100), nullable=False),
    sa.Column('killed', sa.Integer(), nullable=True),
    sa.Column('injured', sa.Integer(), nullable=True),
    sa.Column('previous_killed', sa.Integer(), nullable=True),
    sa.Column('previous_injured', sa.Integer(), nullable=True),
    sa.Column('updates', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('key')
    )


def downgrade() -> None:
    op.drop_table('alert_tolls')
    op.drop_table('admin_questions')
    op.drop_table('rejected_channels')
