"""``GET /v1/templates/{key}/versions/{version}/translations`` over the real app."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from ccm.api import create_app
from ccm.auth.service import Role, create_api_key
from ccm.config import Settings
from ccm.db import make_session_factory, unit_of_work

PATH = "/v1/templates/{key}/versions/{version}/translations"


@pytest.fixture(scope="module")
def client(engine: Engine, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[tuple[TestClient, dict[str, str]]]:
    settings = Settings(database_url=engine.url.render_as_string(hide_password=False),
                        artifact_dir=Path(tmp_path_factory.mktemp("artifacts")),
                        batch_executor="thread", render_executor="inline")
    keys: dict[str, str] = {}
    suffix = uuid.uuid4().hex[:8]
    with unit_of_work(make_session_factory(engine)) as session:
        for role in Role:
            keys[role.value] = create_api_key(session, f"i18n-{role.value}-{suffix}",
                                              [role.value])[1]
    with TestClient(create_app(settings)) as test_client:
        yield test_client, keys


def get(client: tuple[TestClient, dict[str, str]], path: str, role: str | None = "marketing",
        **params: Any) -> Any:
    test_client, keys = client
    headers = {"Authorization": f"Bearer {keys[role]}"} if role else {}
    return test_client.get(path, headers=headers, params=params)


def test_the_report_of_a_stock_version(client: tuple[TestClient, dict[str, str]]) -> None:
    reply = get(client, PATH.format(key="utility-bill", version=1),
                locale=["de_AT", "fr_FR"])
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert (body["template"], body["version"], body["default_locale"]) == (
        "utility-bill", 1, "en_GB")
    assert body["messages"] > 30
    german, austrian, french = body["locales"]
    assert (german["locale"], german["catalog_chain"], german["missing"]) == ("de", ["de"], [])
    assert german["translated"] == body["messages"]
    assert (austrian["locale"], austrian["catalog_chain"], austrian["missing"]) == (
        "de_AT", ["de"], [])
    assert austrian["answered_by"] == {"de": body["messages"]}
    assert french["catalog_chain"] == [] and len(french["missing"]) == body["messages"]
    assert {"msgid": "Your energy bill", "plural": None, "part": "pdf", "line": 11} in (
        french["missing"])
    assert {"msgid": "Payee", "plural": None, "part": "block/payment-slip", "line": 4} in (
        french["missing"])


def test_auditors_may_read_it_billing_may_not(client: tuple[TestClient, dict[str, str]]
                                              ) -> None:
    path = PATH.format(key="welcome-letter", version=1)
    assert get(client, path, "auditor").status_code == 200
    assert get(client, path, "billing").status_code == 403
    assert get(client, path, None).status_code == 401


@pytest.mark.parametrize(("path", "params", "status"), [
    (PATH.format(key="no-such-template", version=1), {}, 404),
    (PATH.format(key="utility-bill", version=999), {}, 404),
    (PATH.format(key="utility-bill", version=1), {"locale": "xx_QQ"}, 422),
])
def test_problems(client: tuple[TestClient, dict[str, str]], path: str,
                  params: dict[str, str], status: int) -> None:
    reply = get(client, path, **params)
    assert reply.status_code == status, reply.text
    assert reply.headers["content-type"] == "application/problem+json"


def test_the_route_is_documented(client: tuple[TestClient, dict[str, str]]) -> None:
    spec = client[0].get("/openapi.json").json()
    operation = spec["paths"][PATH]["get"]
    assert operation["summary"] and operation["description"]
    assert {"200", "401", "403", "404", "422"} <= set(operation["responses"])
    assert [p["name"] for p in operation["parameters"]] == ["key", "version", "locale"]
