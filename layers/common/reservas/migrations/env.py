"""Alembic environment: runs on the connection handed in by `reservas.migrations.upgrade`."""

from alembic import context

from reservas.credentials import get_database_url
from reservas.database import build_engine
from reservas.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # the plain `alembic` command line
    with build_engine(get_database_url()).connect() as connection:
        context.configure(connection=connection, target_metadata=metadata, transaction_per_migration=True)
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()
else:
    context.configure(connection=connection, target_metadata=metadata, transaction_per_migration=True)
    with context.begin_transaction():
        context.run_migrations()
