"""API fixtures: the real app over the test database (SQLite, and PostgreSQL when set),
an artifact folder of its own, and one API key per role."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from api_support import Api, api_settings, make_keys
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from ccm.api import create_app


@pytest.fixture(scope="module")
def api(engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    settings = api_settings(engine, tmp_path_factory.mktemp("artifacts"))
    keys, names = make_keys(engine)
    with TestClient(create_app(settings)) as client:
        yield Api(client, settings, engine, keys, names)
