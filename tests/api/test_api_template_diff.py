"""`GET /v1/templates/{key}/diff`: what changed between two versions, part by part, as a
reviewer reads it."""

from __future__ import annotations

import uuid
from typing import Any

from api_support import Api


def _content(body: str, required: list[str]) -> dict[str, Any]:
    return {"journey": "utility-customer", "stage": "payment-reminder",
            "bodies": {"sms": body},
            "data_schema": {"type": "object", "required": required,
                            "properties": {name: {"type": "string"} for name in required}},
            "sample_data": {"name": "Ada", "invoice": "INV-1"}}


def test_a_diff_shows_each_changed_part(api: Api) -> None:
    key = f"diff-{uuid.uuid4().hex[:8]}"
    made = api.post("/v1/templates", {"key": key, "kind": "notice", "brand": "northwind",
                                      "version": _content("Hello {{ name }}.\nBye.", ["name"])},
                    role="marketing")
    assert made.status_code == 201, made.text
    second = api.post(f"/v1/templates/{key}/versions",
                      _content("Hi {{ name }}, bill {{ invoice }}.\nBye.", ["name", "invoice"])
                      | {"sms_max_segments": 1}, role="marketing")
    assert second.status_code == 201, second.text

    reply = api.get(f"/v1/templates/{key}/diff?from=1&to=2", role="auditor")
    assert reply.status_code == 200, reply.text
    changes = {c["part"]: c["diff"] for c in reply.json()["changes"]}
    assert set(changes) == {"bodies/sms", "data_schema", "settings"}  # sample data same
    assert "-Hello {{ name }}.\n+Hi {{ name }}, bill {{ invoice }}.\n Bye.\n" in \
        changes["bodies/sms"]
    assert changes["bodies/sms"].startswith("--- v1/bodies/sms\n+++ v2/bodies/sms\n")
    assert '-    "name"\n+    "name",\n+    "invoice"\n' in changes["data_schema"]
    assert '-  "sms_max_segments": null,\n+  "sms_max_segments": 1,' in changes["settings"]

    same = api.get(f"/v1/templates/{key}/diff?from=2&to=2", role="marketing")
    assert same.status_code == 200 and same.json()["changes"] == []
    missing = api.get(f"/v1/templates/{key}/diff?from=1&to=9", role="marketing")
    assert missing.status_code == 404
    bad = api.get(f"/v1/templates/{key}/diff?from=0&to=1", role="marketing")
    assert bad.status_code == 422


def test_the_lint_of_a_version_over_http(api: Api) -> None:
    key = f"lint-{uuid.uuid4().hex[:8]}"
    content = _content('<b style="color:#ff00ff">Hi {{ name }}</b>', ["name"])
    content["bodies"] = {"html": content["bodies"]["sms"], "sms": "Hi {{ name }}"}
    made = api.post("/v1/templates", {"key": key, "kind": "letter", "brand": "northwind",
                                      "version": content}, role="marketing")
    assert made.status_code == 201, made.text
    reply = api.get(f"/v1/templates/{key}/versions/1/lint", role="auditor")
    assert reply.status_code == 200, reply.text
    report = reply.json()
    assert report["passes"] is False
    assert [(f["part"], f["line"], f["rule"]) for f in report["findings"]] == [
        ("bodies/html", 1, "off_brand_colour"), ("bodies/html", None, "missing_legal_footer")]
    stock = api.get("/v1/templates/utility-bill/versions/1/lint", role="marketing").json()
    assert stock["passes"] is True and stock["findings"] == []
