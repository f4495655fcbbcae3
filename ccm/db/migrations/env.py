"""Alembic environment: runs on a connection handed in by ccm, or on the configured URL."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

import ccm.models  # noqa: F401  (registers every table on the metadata)
from ccm.db.base import Base

target_metadata = Base.metadata
config = context.config


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(
            connection=connection, target_metadata=target_metadata, render_as_batch=True
        )
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.begin() as conn:
        context.configure(connection=conn, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()


run()
