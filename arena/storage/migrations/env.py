"""Alembic environment: run by arena.storage.migrate with a connection it already holds (no alembic.ini)."""

from alembic import context

from arena.storage.models import Base

config = context.config
connection = config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
