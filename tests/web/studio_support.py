"""Helpers for the studio tests: a fresh database with the stock registry and three keys
(marketing "ana" and "ben", billing "billing"), signing in without a browser, a family of
sub-brands, and request bodies."""

from __future__ import annotations

import io
import json
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import Engine
from sqlalchemy.orm import Session

import ccm.stock
from ccm.assets.service import put_asset
from ccm.auth.service import create_api_key
from ccm.brand.service import add_brand_version, create_brand, published_brand_version
from ccm.config import Settings
from ccm.db import make_engine, make_session_factory, unit_of_work, upgrade
from ccm.registry.loader import load_registry
from ccm.stock import STOCK_DIR
from ccm.stock.customers import SAMPLE_CUSTOMERS, promotion_data
from ccm.web.session import SESSION_COOKIE

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


def signed_in(client: TestClient, key: str, next_page: str = "/studio") -> str:
    """Sign ``client`` in with ``key`` through the form; the session cookie it got."""
    reply = client.post("/studio/sign-in", data={"api_key": key, "next": next_page})
    assert reply.status_code == 303, reply.text
    cookie = client.cookies.get(SESSION_COOKIE)
    assert cookie
    return cookie


def csrf_of(client: TestClient) -> str:
    """The CSRF token a studio page hands its scripts."""
    page = client.get("/studio")
    assert page.status_code == 200, page.text
    found = re.search(r'<meta name="ccm-csrf" content="([^"]+)">', page.text)
    assert found is not None
    return found.group(1)


STOCK_LOGO = STOCK_DIR / "brands" / "northwind"
STOCK_TEAL = "#0b5d4b"
SOLAR_GREEN = "#2e7d32"
NEW_ACCENT = "#9a5b00"


@dataclass(frozen=True)
class BrandFamily:
    """A parent brand (the stock brand's tokens) at v2, and sub-brands made from its v1,
    so both are behind it: ``solar`` sets its own name, primary colour and logo, ``twin``
    nothing."""

    parent: str
    solar: str
    twin: str


def _solar_logo(session: Session) -> dict[str, str]:
    """The stock logo in green: SVG for print, PNG (its rendition) for email."""
    svg = (STOCK_LOGO / "logo.svg").read_text().replace(STOCK_TEAL, SOLAR_GREEN)
    image = Image.open(STOCK_LOGO / "logo.png").convert("RGBA")
    teal, green = (11, 93, 75), (46, 125, 50)
    pixels = image.load()
    assert pixels is not None
    for x in range(image.width):
        for y in range(image.height):
            r, g, b, a = pixels[x, y]  # type: ignore[misc]
            if abs(r - teal[0]) + abs(g - teal[1]) + abs(b - teal[2]) < 90:
                pixels[x, y] = (*green, a)
    png = io.BytesIO()
    image.save(png, format="PNG")
    return {"svg": put_asset(session, svg.encode(), "image/svg+xml").sha256,
            "png": put_asset(session, png.getvalue(), "image/png").sha256}


def make_brand_family(database: StudioDatabase, prefix: str = "") -> BrandFamily:
    family = BrandFamily(f"{prefix}northwind-group", f"{prefix}northwind-solar",
                         f"{prefix}northwind-twin")
    with database.unit_of_work() as session:
        tokens = dict(published_brand_version(session, "northwind").tokens)
        parent = create_brand(session, family.parent, "Northwind Group")
        add_brand_version(session, parent, tokens, published=True)
        overrides = {"company_name": "Northwind Solar GmbH",
                     "palette": {"primary": SOLAR_GREEN}, "logo": _solar_logo(session)}
        solar = create_brand(session, family.solar, "Northwind Solar", parent_key=parent.key)
        add_brand_version(session, solar, overrides, published=True)
        twin = create_brand(session, family.twin, "Northwind Twin", parent_key=parent.key)
        add_brand_version(session, twin, {}, published=True)
        add_brand_version(session, parent, {**tokens, "palette": {
            **tokens["palette"], "accent": NEW_ACCENT}}, published=True)
    return family


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
