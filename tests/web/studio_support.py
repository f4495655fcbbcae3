"""Helpers for the studio tests: a fresh database with the stock registry and three keys
(marketing "ana" and "ben", billing "billing"), and request bodies."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

import ccm.stock
from ccm.auth.service import create_api_key
from ccm.config import Settings
from ccm.db import make_engine, make_session_factory, unit_of_work, upgrade
from ccm.registry.loader import load_registry
from ccm.stock.customers import SAMPLE_CUSTOMERS, promotion_data

KEYS = {"ana": ["marketing"], "ben": ["marketing"], "billing": ["billing"]}


@dataclass
class StudioDatabase:
    settings: Settings
    engine: Engine
    keys: dict[str, str]  # key name -> key

    @contextmanager
    def unit_of_work(self) -> Iterator[Session]:
        with unit_of_work(make_session_factory(self.engine)) as session:
            yield session


@dataclass
class LiveStudio:
    url: str  # http://127.0.0.1:<port>
    database: StudioDatabase

    @property
    def keys(self) -> dict[str, str]:
        return self.database.keys


def make_database(root: Path) -> StudioDatabase:
    url = f"sqlite:///{root / 'ccm.db'}"
    engine = make_engine(url)
    upgrade(engine)
    with unit_of_work(make_session_factory(engine)) as session:
        load_registry(session, Path(ccm.stock.__file__).parent)
        keys = {name: create_api_key(session, name, roles)[1] for name, roles in KEYS.items()}
    settings = Settings(database_url=url, artifact_dir=root / "artifacts",
                        render_executor="inline", batch_executor="thread", batch_workers=1)
    return StudioDatabase(settings, engine, keys)


def to_json(value: Any) -> bytes:
    def number(item: object) -> Any:
        if isinstance(item, Decimal):
            return float(item)
        raise TypeError(type(item).__name__)

    return json.dumps(value, default=number).encode()


def promotion_request(channel: str, **extra: Any) -> bytes:
    """A ``POST /v1/documents`` body for the stock loyalty offer."""
    return to_json({"template": "loyalty-offer", "customer_id": f"T-{uuid.uuid4().hex[:12]}",
                    "channel": channel, "locale": "en_GB",
                    "data": promotion_data(SAMPLE_CUSTOMERS[0]), **extra})
