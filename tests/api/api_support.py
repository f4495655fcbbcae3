"""Helpers for the API tests: request bodies for the stock templates, a client wrapper
that signs requests with a key per role, and counts read straight from the database."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx2 as httpx
from fastapi.testclient import TestClient
from lxml import etree
from sqlalchemy import Engine, func, select
from support import pdf_text as pdf_text  # re-exported for the API tests
from support import to_xml

from ccm.audit.models import Communication
from ccm.auth.service import Role, create_api_key
from ccm.config import Settings
from ccm.db import make_session_factory, unit_of_work
from ccm.stock.customers import SAMPLE_CUSTOMERS, bill_data, promotion_data, welcome_data

GERMAN = SAMPLE_CUSTOMERS[2]
assert GERMAN.locale == "de_DE"


def _number(value: object) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


def to_json(value: Any) -> bytes:
    return json.dumps(value, default=_number).encode()


def new_customer() -> str:
    """A customer id no other test uses (tests commit, so ids must not meet)."""
    return f"T-{uuid.uuid4().hex[:12]}"


def bill_request(customer_id: str, channel: str = "pdf", **extra: Any) -> dict[str, Any]:
    data = json.loads(to_json(bill_data(GERMAN)))
    return {"template": "utility-bill", "customer_id": customer_id, "channel": channel,
            "locale": "de_DE", "data": data, **extra}


def letter_request(customer_id: str, channel: str = "html", **extra: Any) -> dict[str, Any]:
    data = json.loads(to_json(welcome_data(GERMAN)))
    return {"template": "welcome-letter", "customer_id": customer_id, "channel": channel,
            "locale": "de_DE", "data": data, **extra}


def promotion_request(customer_id: str, channel: str = "sms", **extra: Any) -> dict[str, Any]:
    data = json.loads(to_json(promotion_data(GERMAN)))
    return {"template": "loyalty-offer", "customer_id": customer_id, "channel": channel,
            "locale": "de_DE", "data": data, **extra}


@dataclass
class Api:
    client: TestClient
    settings: Settings
    engine: Engine
    keys: dict[str, str]  # role (or "all") -> key
    names: dict[str, str]  # role (or "all") -> key name

    def auth(self, role: str = "billing", **headers: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[role]}", **headers}

    def post(self, path: str, body: Any, role: str = "billing", **headers: str
             ) -> httpx.Response:
        return self.client.post(path, content=to_json(body), headers=self.auth(
            role, **{"Content-Type": "application/json", **headers}))

    def get(self, path: str, role: str = "auditor", **headers: str) -> httpx.Response:
        return self.client.get(path, headers=self.auth(role, **headers))

    def communications(self, customer_id: str) -> int:
        with unit_of_work(make_session_factory(self.engine)) as session:
            count = session.scalar(select(func.count()).select_from(Communication)
                                   .where(Communication.customer_id == customer_id))
        return int(count or 0)


def make_keys(engine: Engine) -> tuple[dict[str, str], dict[str, str]]:
    keys: dict[str, str] = {}
    names: dict[str, str] = {}
    suffix = uuid.uuid4().hex[:8]
    with unit_of_work(make_session_factory(engine)) as session:
        for role in [*(r.value for r in Role), "all"]:
            roles = [r.value for r in Role] if role == "all" else [role]
            row, key = create_api_key(session, f"{role}-{suffix}", roles)
            keys[role], names[role] = key, row.name
    return keys, names


def api_settings(engine: Engine, artifacts: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": engine.url.render_as_string(hide_password=False),
        "artifact_dir": artifacts, "batch_executor": "thread", "batch_workers": 2,
        "render_executor": "inline",
        "batch_lease_seconds": 5.0, "idempotency_wait_seconds": 20.0,
    }
    values.update(overrides)
    return Settings(**values)


def bill_xml(data: dict[str, Any]) -> str:
    """The data as a billing system would send it in XML (lists as repeated ``item``s)."""
    return etree.tostring(to_xml(data, "bill"), xml_declaration=True,
                          encoding="utf-8").decode()


def publish_reviewed(api: Api, key: str, version: int, *, author: str = "marketing",
                     approver: str = "all") -> httpx.Response:
    """Take a draft through review over HTTP as two people would: ``author`` submits,
    ``approver`` (another key) approves, the author publishes. The publish reply."""
    base = f"/v1/templates/{key}/versions/{version}"
    submitted = api.post(f"{base}/submit", {}, role=author)
    assert submitted.status_code == 200, submitted.text
    approved = api.post(f"{base}/approve", {}, role=approver)
    assert approved.status_code == 200, approved.text
    return api.post(f"{base}/publish", {}, role=author)


def wait_for_batch(api: Api, url: str, timeout: float = 240) -> dict[str, Any]:
    """The batch at ``url`` once it is completed (or as it is when ``timeout`` is up)."""
    deadline = time.monotonic() + timeout
    while True:
        body: dict[str, Any] = api.get(url, role="billing").json()
        if body["status"] == "completed" or time.monotonic() > deadline:
            return body
        time.sleep(0.1)
