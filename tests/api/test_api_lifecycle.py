"""The template lifecycle over HTTP: four eyes, nothing unapproved is sent, every step is
recorded, rollback, and published versions keep the block versions they were approved
with."""

from __future__ import annotations

import uuid
from typing import Any

import httpx2 as httpx
from api_support import Api, new_customer, publish_reviewed, wait_for_batch
from sqlalchemy import func, select

from ccm.audit.models import Communication
from ccm.db import make_session_factory, unit_of_work

SCHEMA = {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}}


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def notice(html: str = "<h1>{{ brand.company_name }}</h1><p>Hello {{ name }}</p>",
           sms: str = "Hello {{ name }}") -> dict[str, Any]:
    return {"journey": "utility-customer", "stage": "payment-reminder",
            "bodies": {"html": html, "sms": sms}, "data_schema": SCHEMA,
            "sample_data": {"name": "Ada"}}


def new_template(api: Api, content: dict[str, Any] | None = None, kind: str = "notice") -> str:
    key = unique("life")
    made = api.post("/v1/templates", {"key": key, "kind": kind, "brand": "northwind",
                                      "version": content or notice()}, role="marketing")
    assert made.status_code == 201, made.text
    return key


def step(api: Api, key: str, version: int, action: str, role: str = "marketing",
         comment: str = "") -> httpx.Response:
    return api.post(f"/v1/templates/{key}/versions/{version}/{action}", {"comment": comment},
                    role=role)


def problem(reply: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert reply.status_code == status, reply.text
    body: dict[str, Any] = reply.json()
    assert body["code"] == code, body
    return body


def send(api: Api, key: str, channel: str = "html", **extra: Any) -> httpx.Response:
    return api.post("/v1/documents", {"template": key, "customer_id": new_customer(),
                                      "channel": channel, "data": {"name": "Grace"}, **extra})


def test_the_author_cannot_approve_their_own_version(api: Api) -> None:
    key = new_template(api)
    assert step(api, key, 1, "submit", comment="ready").json()["status"] == "in_review"
    refused = problem(step(api, key, 1, "approve"), 409, "four_eyes")
    assert api.names["marketing"] in refused["detail"]
    assert api.get(f"/v1/templates/{key}/versions/1").json()["status"] == "in_review"
    approved = step(api, key, 1, "approve", role="all", comment="looks right")
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    assert approved.json()["block_pins"] == {}  # it includes no block: pinned to none


def test_nothing_unapproved_is_sent_and_every_step_is_recorded(api: Api) -> None:
    key = new_template(api)
    for status in ("draft", "in_review", "approved"):
        assert api.get(f"/v1/templates/{key}/versions/1").json()["status"] == status
        problem(send(api, key), 404, "not_found")  # no published version
        problem(send(api, key, version=1), 404, "not_found")  # not even by number
        if status == "draft":
            problem(step(api, key, 1, "publish"), 409, "approval_required")
            step(api, key, 1, "submit")
        elif status == "in_review":
            problem(step(api, key, 1, "publish"), 409, "approval_required")
            step(api, key, 1, "approve", role="all", comment="ok by me")
    batch = api.post("/v1/documents/batch", {"items": [
        {"template": key, "customer_id": new_customer(), "channel": "sms",
         "data": {"name": "Grace"}}]})
    assert batch.status_code == 202, batch.text
    assert wait_for_batch(api, batch.json()["url"])["failed"] == 1  # batches send only published

    published = step(api, key, 1, "publish", comment="go")
    assert published.status_code == 200 and published.json()["status"] == "published"
    sent = send(api, key)
    assert sent.status_code == 201 and sent.json()["template_version"] == 1
    history = api.get(f"/v1/templates/{key}/versions/1/history").json()
    assert [(h["action"], h["from_status"], h["to_status"]) for h in history] == [
        ("created", None, "draft"), ("submitted", "draft", "in_review"),
        ("approved", "in_review", "approved"), ("published", "approved", "published")]
    assert [h["actor"] for h in history] == [api.names["marketing"], api.names["marketing"],
                                             api.names["all"], api.names["marketing"]]
    assert history[2]["comment"] == "ok by me" and history[3]["comment"] == "go"
    assert all(h["at"] for h in history)


def test_publishing_on_creation_is_refused_and_creates_nothing(api: Api) -> None:
    key = unique("life")
    refused = api.post("/v1/templates", {"key": key, "kind": "notice", "brand": "northwind",
                                         "version": notice(), "publish": True},
                       role="marketing")
    problem(refused, 409, "approval_required")
    problem(api.get(f"/v1/templates/{key}"), 404, "not_found")
    key = new_template(api)
    problem(api.post(f"/v1/templates/{key}/versions", {**notice(), "publish": True},
                     role="marketing"), 409, "approval_required")
    assert len(api.get(f"/v1/templates/{key}/versions").json()) == 1


def test_drafts_are_edited_and_linted_on_save_and_before_review(api: Api) -> None:
    off_brand = notice(html='<p style="color: #ff00aa">Hello {{ name }}</p>')
    key = new_template(api, off_brand)
    saved = api.get(f"/v1/templates/{key}/versions/1").json()
    assert saved["created_by"] == api.names["marketing"]
    refused = problem(step(api, key, 1, "submit"), 422, "lint_failed")
    assert refused["findings"] == [{
        "part": "bodies/html", "line": 1, "rule": "off_brand_colour",
        "message": "colour #ff00aa is not one of the brand's colours (use brand.palette)"}]
    edited = api.client.put(f"/v1/templates/{key}/versions/1", json=off_brand,
                            headers=api.auth("marketing"))
    assert edited.status_code == 200 and edited.json()["lint"][0]["rule"] == "off_brand_colour"
    fixed = api.client.put(f"/v1/templates/{key}/versions/1", json=notice(
        html='<p style="color: {{ brand.palette.primary }}">Hi {{ name }}</p>'),
        headers=api.auth("marketing"))
    assert fixed.status_code == 200 and fixed.json()["lint"] == []
    assert step(api, key, 1, "submit").json()["status"] == "in_review"
    frozen = api.client.put(f"/v1/templates/{key}/versions/1", json=notice(),
                            headers=api.auth("marketing"))
    problem(frozen, 409, "immutable_version")
    back = step(api, key, 1, "request-changes", role="all", comment="shorter, please")
    assert back.json()["status"] == "draft"
    again = api.client.put(f"/v1/templates/{key}/versions/1", json=notice(sms="Hi {{ name }}"),
                           headers=api.auth("marketing"))
    assert again.status_code == 200 and again.json()["bodies"]["sms"] == "Hi {{ name }}"
    actions = [h["action"] for h in api.get(f"/v1/templates/{key}/versions/1/history").json()]
    assert actions == ["created", "edited", "edited", "submitted", "changes_requested",
                       "edited"]


def test_a_bill_without_the_legal_footer_cannot_go_to_review(api: Api) -> None:
    bill = notice(html="<h1>Your bill</h1><p>{{ name }}</p>")
    key = new_template(api, bill, kind="bill")
    refused = problem(step(api, key, 1, "submit"), 422, "lint_failed")
    assert [f["rule"] for f in refused["findings"]] == ["missing_legal_footer"]


def test_retire_and_roll_back(api: Api) -> None:
    key = new_template(api, notice(sms="First {{ name }}"))
    publish_reviewed(api, key, 1)
    api.post(f"/v1/templates/{key}/versions", notice(sms="Second {{ name }}"), role="marketing")
    publish_reviewed(api, key, 2)
    assert send(api, key, "sms").json()["template_version"] == 2
    retired = step(api, key, 2, "retire", comment="complaints")
    assert retired.json()["status"] == "retired"
    assert send(api, key, "sms").json()["template_version"] == 1  # the one before is live
    problem(api.post(f"/v1/templates/{key}/rollback", {"to_version": 3}, role="marketing"),
            404, "not_found")
    rolled = api.post(f"/v1/templates/{key}/rollback",
                      {"to_version": 2, "comment": "fixed the complaint elsewhere"},
                      role="marketing")
    assert rolled.status_code == 201, rolled.text
    new = rolled.json()
    assert (new["version"], new["status"], new["bodies"]["sms"]) == (
        3, "published", "Second {{ name }}")
    versions = api.get(f"/v1/templates/{key}/versions").json()
    assert new["block_pins"] == versions[1]["block_pins"]
    sent = send(api, key, "sms")
    assert sent.json()["template_version"] == 3
    history = api.get(f"/v1/templates/{key}/versions/3/history").json()
    assert history[-1]["action"] == "rolled_back"
    assert history[-1]["comment"] == "fixed the complaint elsewhere"
    api.post(f"/v1/templates/{key}/versions", notice(), role="marketing")
    problem(api.post(f"/v1/templates/{key}/rollback", {"to_version": 4}, role="marketing"),
            409, "lifecycle_invalid")  # a draft was never approved


def test_a_published_version_keeps_its_pinned_block_after_the_block_changes(api: Api) -> None:
    block = unique("tagline")
    made = api.post("/v1/blocks", {"key": block, "kind": "block",
                                   "source": "<p class=\"tagline\">Power for the north</p>"},
                    role="marketing")
    assert made.status_code == 201, made.text
    html = f'<h1>Hello {{{{ name }}}}</h1>{{% include "block/{block}" %}}'
    key = new_template(api, notice(html=html))
    published = publish_reviewed(api, key, 1).json()
    assert published["block_pins"] == {f"block/{block}": 1}

    changed = api.post(f"/v1/blocks/{block}/versions",
                       {"source": "<p class=\"tagline\">Energy for everyone</p>"},
                       role="marketing")
    assert changed.status_code == 201, changed.text
    assert changed.json()["live_version"] == 2
    assert changed.json()["needs_reapproval"] == [
        {"template": key, "version": 1, "status": "published", "pinned": 1, "live": 2}]
    sent = send(api, key)
    content = api.get(f"/v1/documents/{sent.json()['id']}/content", role="billing").text
    assert "Power for the north" in content and "Energy for everyone" not in content
    used = api.get(f"/v1/blocks/{block}/where-used").json()
    assert [t["template"] for t in used["needs_reapproval"]] == [key]

    # A draft previews with the live block; its approval takes the change up.
    api.post(f"/v1/templates/{key}/versions", notice(html=html), role="marketing")
    preview = api.post(f"/v1/templates/{key}/preview", {"version": 2, "channels": ["html"]},
                       role="marketing").json()
    assert "Energy for everyone" in preview["renders"]["html"]["text"]
    assert publish_reviewed(api, key, 2).json()["block_pins"] == {f"block/{block}": 2}
    sent = send(api, key)
    content = api.get(f"/v1/documents/{sent.json()['id']}/content", role="billing").text
    assert "Energy for everyone" in content
    assert api.get(f"/v1/blocks/{block}").json()["needs_reapproval"] == []


def test_a_block_in_use_cannot_be_deleted(api: Api) -> None:
    block = unique("promo-strip")
    api.post("/v1/blocks", {"key": block, "kind": "block", "source": "<p>Strip</p>"},
             role="marketing")
    key = new_template(api, notice(html=f'<p>Hi</p>{{% include "block/{block}" %}}'))
    refused = problem(api.client.delete(f"/v1/blocks/{block}", headers=api.auth("marketing")),
                      409, "block_in_use")
    assert f"{key} v1 (draft)" in refused["detail"]
    api.client.put(f"/v1/templates/{key}/versions/1", json=notice(),
                   headers=api.auth("marketing"))
    deleted = api.client.delete(f"/v1/blocks/{block}", headers=api.auth("marketing"))
    assert deleted.status_code == 204, deleted.text
    problem(api.get(f"/v1/blocks/{block}"), 404, "not_found")
    assert block not in [b["key"] for b in api.get("/v1/blocks").json()]
    # Its name is free again, and including the deleted block no longer compiles.
    reply = api.post(f"/v1/templates/{key}/versions",
                     notice(html=f'{{% include "block/{block}" %}}'), role="marketing")
    problem(reply, 422, "registry_invalid")


def test_live_preview_of_unsaved_content_reports_errors_at_their_line(api: Api) -> None:
    key = new_template(api)
    before = api.get(f"/v1/templates/{key}/versions").json()
    content = notice(html="<h1>Hello {{ name }}</h1>\n<p>{% if name %}open</p>",
                     sms="Hi {{ name }}, new text")
    reply = api.post(f"/v1/templates/{key}/preview",
                     {"content": content, "channels": ["html", "sms"]}, role="marketing")
    assert reply.status_code == 200, reply.text
    preview = reply.json()
    assert preview["version"] is None
    assert preview["renders"]["sms"]["text"] == "Hi Ada, new text"
    assert preview["renders"]["sms"]["segments"] == 1
    assert "html" not in preview["renders"]
    [error] = preview["errors"]
    assert (error["part"], error["line"], error["channel"]) == ("bodies/html", 2, "html")
    assert api.get(f"/v1/templates/{key}/versions").json() == before  # nothing saved


def test_preview_of_a_stored_version_with_pdf_thumbnails(api: Api) -> None:
    before = all_communications(api)
    reply = api.post("/v1/templates/utility-bill/preview",
                     {"channels": ["pdf", "email", "sms"], "thumbnails": True,
                      "locale": "de_DE"}, role="marketing")
    assert reply.status_code == 200, reply.text
    preview = reply.json()
    pdf = preview["renders"]["pdf"]
    assert pdf["page_count"] == len(pdf["pages"]) >= 1
    assert all(p.startswith("data:image/png;base64,iVBOR") for p in pdf["pages"])
    email = preview["renders"]["email"]
    assert email["subject"] and "cid:" not in email["html"]
    assert "data:image/png;base64," in email["html"]  # the inline logo, shown
    assert preview["locale"] == "de_DE" and preview["errors"] == []
    assert all_communications(api) == before  # previews are never recorded


def all_communications(api: Api) -> int:
    with unit_of_work(make_session_factory(api.engine)) as session:
        return int(session.scalar(select(func.count()).select_from(Communication)) or 0)


def test_an_editor_of_someone_elses_draft_cannot_approve_it(api: Api) -> None:
    key = new_template(api)  # written by the "marketing" key
    edited = api.client.put(f"/v1/templates/{key}/versions/1",
                            json=notice(sms="Changed by another {{ name }}"),
                            headers=api.auth("all"))
    assert edited.status_code == 200, edited.text
    step(api, key, 1, "submit", role="all")
    for role in ("all", "marketing"):  # the editor, and the author
        problem(step(api, key, 1, "approve", role=role), 409, "four_eyes")
    made = api.post("/v1/api-keys", {"name": unique("reviewer"), "roles": ["marketing"]},
                    role="admin")
    reviewer = {"Authorization": f"Bearer {made.json()['key']}"}
    approved = api.client.post(f"/v1/templates/{key}/versions/1/approve", json={},
                               headers=reviewer)
    assert approved.status_code == 200 and approved.json()["status"] == "approved"


def test_where_used_reads_a_published_version_through_its_pinned_blocks(api: Api) -> None:
    strip, frame = unique("strip"), unique("frame")
    for key, kind, source in (
            (strip, "block", "<p>STRIP TEXT</p>"),
            (frame, "layout", f'<main>{{% block content %}}{{% endblock %}}'
                              f'{{% include "block/{strip}" %}}</main>')):
        made = api.post("/v1/blocks", {"key": key, "kind": kind, "source": source},
                        role="marketing")
        assert made.status_code == 201, made.text
    html = f'{{% extends "layout/{frame}" %}}{{% block content %}}Hi {{{{ name }}}}' \
           '{% endblock %}'
    key = new_template(api, notice(html=html))
    assert publish_reviewed(api, key, 1).json()["block_pins"] == {
        f"block/{strip}": 1, f"layout/{frame}": 1}
    # The layout drops the strip; the published version is still sent with it.
    api.post(f"/v1/blocks/{frame}/versions",
             {"source": "<main>{% block content %}{% endblock %}</main>"}, role="marketing")
    used = api.get(f"/v1/blocks/{strip}/where-used").json()
    assert [(t["template"], t["version"], t["via"]) for t in used["templates"]] == [
        (key, 1, f"layout/{frame}")]
    refused = problem(api.client.delete(f"/v1/blocks/{strip}", headers=api.auth("marketing")),
                      409, "block_in_use")
    assert f"{key} v1 (published)" in refused["detail"]
    content = api.get(f"/v1/documents/{send(api, key).json()['id']}/content",
                      role="billing").text
    assert "STRIP TEXT" in content


def test_what_was_reviewed_is_what_is_approved_when_a_block_changes_in_review(
        api: Api) -> None:
    block = unique("note")
    api.post("/v1/blocks", {"key": block, "kind": "block", "source": "<p>REVIEWED NOTE</p>"},
             role="marketing")
    key = new_template(api, notice(html=f'<p>Hi</p>{{% include "block/{block}" %}}'))
    submitted = step(api, key, 1, "submit")
    assert submitted.json()["block_pins"] == {f"block/{block}": 1}
    changed = api.post(f"/v1/blocks/{block}/versions", {"source": "<p>UNSEEN NOTE</p>"},
                       role="marketing").json()
    assert changed["needs_reapproval"] == [
        {"template": key, "version": 1, "status": "in_review", "pinned": 1, "live": 2}]
    preview = api.post(f"/v1/templates/{key}/preview", {"version": 1, "channels": ["html"]},
                       role="marketing").json()
    assert "REVIEWED NOTE" in preview["renders"]["html"]["text"]  # what the reviewer sees
    step(api, key, 1, "approve", role="all")
    step(api, key, 1, "publish")
    content = api.get(f"/v1/documents/{send(api, key).json()['id']}/content",
                      role="billing").text
    assert "REVIEWED NOTE" in content and "UNSEEN NOTE" not in content
