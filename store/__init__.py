"""Persistence: every SQL statement of the project lives here. ``models`` (SQLAlchemy 2.0 tables,
with enums for kinds and statuses), ``queries/`` (query functions by table family: they take the
session first and never commit), ``db`` (engines, migrations, integrity checks, retrying a
transaction the database cut), ``locks`` (the ingest lock and PostgreSQL's advisory locks),
``leases`` (the bot lease) and ``migrations/`` (Alembic)."""
