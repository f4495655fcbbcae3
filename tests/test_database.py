"""The schema comes only from migrations, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from sqlalchemy import Engine, inspect

from ccm.db.base import Base
from ccm.db.migrate import current_revision, head_revision


def test_migrations_build_exactly_the_models_schema(engine: Engine) -> None:
    assert current_revision(engine) == head_revision() == "0005"
    inspector = inspect(engine)
    tables = set(inspector.get_table_names()) - {"alembic_version"}
    assert tables == set(Base.metadata.tables)
    for name, table in Base.metadata.tables.items():
        columns = {column["name"] for column in inspector.get_columns(name)}
        assert columns == set(table.columns.keys()), name


def test_every_table_is_covered_by_a_migration(engine: Engine) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with engine.connect() as connection:
        context = MigrationContext.configure(connection)
        differences = compare_metadata(context, Base.metadata)
    assert differences == []
