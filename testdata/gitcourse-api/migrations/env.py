"""Alembic environment: the database is DATABASE_URL, the schema models.py."""

from logging.config import fileConfig

from alembic import context
from sqlalchemy import create_engine, pool

import db
import models

config = context.config
if config.config_file_name is not None:
    fileConfig(config.config_file_name)

target_metadata = models.Base.metadata


def url() -> str:
    u = db.database_url()
    if not u:
        raise SystemExit("DATABASE_URL is not set (postgresql://user:password@host:port/database)")
    return u


def run_migrations_offline() -> None:
    """Emit SQL to stdout instead of running it (alembic upgrade --sql)."""
    context.configure(url=url(), target_metadata=target_metadata, literal_binds=True, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = create_engine(url(), poolclass=pool.NullPool, future=True)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata, compare_type=True)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
