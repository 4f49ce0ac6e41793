"""An index on posts.posted_at: the digest of a day also lists the incidents that got new posts
that day (a toll that kept rising after the strike's day), found by the posts' time.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""
from __future__ import annotations

from alembic import op


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_posts_posted_at', 'posts', ['posted_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_posts_posted_at', table_name='posts')
