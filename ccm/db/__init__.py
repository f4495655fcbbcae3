"""Database access: engine, units of work, migrations, and the declarative base."""

from ccm.db.base import Base
from ccm.db.migrate import upgrade
from ccm.db.session import make_engine, make_session_factory, unit_of_work

__all__ = ["Base", "make_engine", "make_session_factory", "unit_of_work", "upgrade"]
