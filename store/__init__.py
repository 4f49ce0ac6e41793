"""Persistence: SQLAlchemy 2.0 models, query functions that never commit, Alembic migrations."""
