"""Fixtures: a real database (SQLite, or PostgreSQL when CCM_TEST_DATABASE_URL is set),
migrated once and loaded with the stock registry; each test runs in a transaction that is
rolled back, so tests see the same SQL production runs and never each other's rows."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from ccm.db import make_engine, make_session_factory, unit_of_work, upgrade
from ccm.registry import load_registry
from ccm.stock import STOCK_DIR


def backends() -> list[str]:
    """SQLite always; PostgreSQL too when CCM_TEST_DATABASE_URL names a server."""
    return ["sqlite"] + (["postgresql"] if os.environ.get("CCM_TEST_DATABASE_URL") else [])


def database_url(backend: str, tmp_dir: Path) -> str:
    if backend == "postgresql":
        return os.environ["CCM_TEST_DATABASE_URL"]
    return f"sqlite:///{tmp_dir / 'ccm-test.db'}"


def reset_database(url: str) -> Engine:
    engine = make_engine(url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    upgrade(engine)
    return engine


@pytest.fixture(scope="session", params=backends())
def engine(request: pytest.FixtureRequest,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    engine = reset_database(database_url(request.param, tmp_path_factory.mktemp("db")))
    with unit_of_work(make_session_factory(engine)) as session:
        load_registry(session, STOCK_DIR)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session whose work is rolled back after the test (services flush, never commit)."""
    with engine.connect() as connection:
        transaction = connection.begin()
        db_session = Session(bind=connection, join_transaction_mode="create_savepoint",
                             expire_on_commit=False)
        try:
            yield db_session
        finally:
            db_session.close()
            transaction.rollback()
