"""Engines and units of work.

The unit of work (a CLI command, a request, a job) owns the transaction: services only
``flush``; :func:`unit_of_work` commits once at the end or rolls everything back.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, SessionTransaction, sessionmaker


def _json_default(value: object) -> Any:
    # Money arrives as Decimal; JSON columns keep it as a number.
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def json_dumps(value: object) -> str:
    return json.dumps(value, default=_json_default, ensure_ascii=False, sort_keys=True)


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite gets WAL, foreign keys and a busy timeout."""
    is_sqlite = url.startswith("sqlite")
    engine = create_engine(
        url,
        json_serializer=json_dumps,
        connect_args={"timeout": 30} if is_sqlite else {},
    )
    if is_sqlite:

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            if ":memory:" not in url:
                cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

    return engine


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


def begin_savepoint(session: Session) -> SessionTransaction:
    """A savepoint inside the unit of work, on every database.

    pysqlite's legacy transaction control sends no ``BEGIN`` before a ``SAVEPOINT``; SQLite
    then opens a transaction of its own for the savepoint, and releasing it commits — the
    unit of work could no longer roll back. So on SQLite the transaction is begun first
    (``IMMEDIATE``: a unit of work that needs a savepoint is about to write, and taking the
    write lock now means it never has to upgrade a read snapshot that went stale).
    """
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        raw = connection.connection.dbapi_connection
        if raw is not None and not raw.in_transaction:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
    return session.begin_nested()


@contextmanager
def unit_of_work(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One transaction: commit when the block ends normally, roll back on any error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
