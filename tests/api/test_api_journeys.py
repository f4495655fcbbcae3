"""Customers, consent, events and journeys over HTTP, and what comes back from the outside:
tracked links and the open pixel, one-click unsubscribe and providers' delivery reports.

Sends are delivered by a real :class:`DeliveryWorker` to a local SMTP server and SMS
provider, and the links are followed from the email as received."""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import re
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx2 as httpx
import pytest
import yaml
from api_support import GERMAN, Api, api_settings, new_customer, publish_reviewed, to_json
from fastapi.testclient import TestClient
from sqlalchemy import select

from ccm.api import create_app
from ccm.artifacts import LocalArtifactStore
from ccm.db import make_session_factory, unit_of_work
from ccm.db.session import json_dumps
from ccm.delivery.models import Send, SendEvent
from ccm.delivery.secrets import tracking_secret
from ccm.delivery.sinks import SmsSink, SmtpCapture
from ccm.delivery.tracking import sign_token
from ccm.delivery.worker import DeliveryWorker
from ccm.journeys.definition import parse_duration
from ccm.stock import STOCK_DIR
from ccm.stock.customers import bill_data, welcome_data

OFFER_URL = "https://northwind-energy.example/offers/solar"
PROBLEM = "application/problem+json"


# -- helpers ------------------------------------------------------------------------------


def as_json(data: dict[str, Any]) -> dict[str, Any]:
    """Stock data (with Decimals) as the JSON a billing system sends."""
    value: dict[str, Any] = json.loads(json_dumps(data))
    return value


def daytime_zone() -> str:
    """A time zone in which it is around 13:00 now: far from the app's quiet hours
    (21:00-08:00 by default), so the worker may send at once."""
    offset = 13 - datetime.now(UTC).hour  # from -10 to +13: all exist as Etc/GMT zones
    if offset == 0:
        return "UTC"
    return f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}"  # POSIX signs are inverted


def profile(customer_id: str, **fields: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "name": "Jürgen Weiß", "locale": "de_DE", "time_zone": daytime_zone(),
        "email": f"{customer_id.lower()}@example.de",
        "postal_address": ["Mühlenstraße 7", "21029 Hamburg"], "preferred_channel": "email",
        "attributes": {"tenure_months": 26}}
    values.update(fields)
    return values


def put_customer(api: Api, customer_id: str, body: dict[str, Any]) -> httpx.Response:
    return api.client.put(f"/v1/customers/{customer_id}", content=to_json(body),
                          headers=api.auth("billing", **{"Content-Type": "application/json"}))


def make_customer(api: Api, customer_id: str | None = None, **fields: Any) -> str:
    customer_id = customer_id or new_customer()
    reply = put_customer(api, customer_id, profile(customer_id, **fields))
    assert reply.status_code == 201, reply.text
    return customer_id


def event(customer_id: str, type_: str, payload: dict[str, Any] | None = None, *,
          at: datetime | None = None, event_id: str | None = None) -> dict[str, Any]:
    at = at or datetime.now(UTC)
    return {"event_id": event_id or f"{customer_id}-{type_}-{at.timestamp()}",
            "customer_id": customer_id, "type": type_, "occurred_at": at.isoformat(),
            "payload": payload or {}}


def post_event(api: Api, body: dict[str, Any]) -> dict[str, Any]:
    reply = api.post("/v1/events", body)
    assert reply.status_code == 200, reply.text
    result: dict[str, Any] = reply.json()
    assert result["status"] == "accepted", result
    return result


def path_of(api: Api, customer_id: str) -> dict[str, Any]:
    reply = api.get(f"/v1/customers/{customer_id}/journeys")
    assert reply.status_code == 200, reply.text
    value: dict[str, Any] = reply.json()
    return value


def consents(api: Api, customer_id: str) -> dict[str, Any]:
    reply = api.get(f"/v1/customers/{customer_id}/consents")
    assert reply.status_code == 200, reply.text
    value: dict[str, Any] = reply.json()
    return value


def assert_problem(reply: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert reply.status_code == status, reply.text
    assert reply.headers["content-type"] == PROBLEM
    problem: dict[str, Any] = reply.json()
    assert problem["status"] == status and problem["code"] == code, problem
    assert problem["detail"]
    return problem


def stock_journey() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(
        (STOCK_DIR / "journeys" / "utility-customer.yaml").read_text(encoding="utf-8"))
    return loaded


# -- a worker delivering to local peers ---------------------------------------------------


@dataclass
class Delivery:
    smtp: SmtpCapture
    sms: SmsSink
    worker: DeliveryWorker

    def run(self) -> None:
        self.worker.run_until_idle()

    def mail_for(self, send_id: str) -> list[EmailMessage]:
        return [r.message for r in self.smtp.received if send_id in r.message_id]


@pytest.fixture(scope="module")
def delivery(api: Api, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Delivery]:
    """A worker over the app's database and artifact folder, with the app's public URL and
    tracking secret (the test app sets none: then both use the instance secret kept in the
    database), so the links it sends are the ones the app verifies."""
    with SmtpCapture() as smtp, SmsSink() as sms:
        settings = api.settings.model_copy(update={
            "smtp_host": "127.0.0.1", "smtp_port": smtp.port, "sms_provider_url": sms.url,
            "print_spool_dir": tmp_path_factory.mktemp("spool"), "quiet_hours": "",
            "marketing_cap": "", "tracking_secret": api.settings.tracking_secret,
            "public_url": api.settings.public_url})
        worker = DeliveryWorker(make_session_factory(api.engine),
                                LocalArtifactStore(api.settings.artifact_dir), settings)
        yield Delivery(smtp, sms, worker)


# -- 1. customer profiles and consent -----------------------------------------------------


def test_a_profile_is_created_then_replaced_with_its_consents(api: Api) -> None:
    customer = new_customer()
    body = profile(customer, time_zone="Europe/Berlin", phone="+49 151 1234-5678",
                   consents=[{"channel": "email", "purpose": "marketing", "granted": True,
                              "source": "signup form"}])
    created = put_customer(api, customer, body)
    assert created.status_code == 201, created.text
    shown = api.get(f"/v1/customers/{customer}")
    assert shown.status_code == 200, shown.text
    assert shown.json() == created.json() == {
        "id": customer, "name": "Jürgen Weiß", "locale": "de_DE", "time_zone": "Europe/Berlin",
        "email": f"{customer.lower()}@example.de", "phone": "+4915112345678",
        "postal_address": ["Mühlenstraße 7", "21029 Hamburg"], "preferred_channel": "email",
        "attributes": {"tenure_months": 26},
        "consents": [{"channel": "email", "purpose": "marketing", "granted": True,
                      "source": "signup form"}]}

    replaced = put_customer(api, customer, {"name": "Jürgen Weiss", "locale": "en_GB",
                                            "preferred_channel": "sms",
                                            "phone": "+4915199999999"})
    assert replaced.status_code == 200, replaced.text
    again = api.get(f"/v1/customers/{customer}").json()
    assert again == replaced.json()
    assert (again["name"], again["locale"], again["preferred_channel"], again["phone"]) == (
        "Jürgen Weiss", "en_GB", "sms", "+4915199999999")
    # Replaced, not merged: what the new profile leaves out is gone...
    assert (again["email"], again["postal_address"], again["attributes"]) == (None, [], {})
    assert again["time_zone"] == "UTC"
    # ... but consent is the customer's answer, not part of the profile: it stays.
    assert again["consents"] == [{"channel": "email", "purpose": "marketing", "granted": True,
                                  "source": "signup form"}]


def test_a_bad_profile_is_refused_naming_each_field(api: Api) -> None:
    customer = new_customer()
    reply = put_customer(api, customer, profile(
        customer, email="not an email", phone="12345", time_zone="Mars/Olympus_Mons",
        locale="zz_ZZ"))
    problem = assert_problem(reply, 422, "request_invalid")
    paths = {v["path"] for v in problem["violations"]}
    assert paths == {"/email", "/phone", "/time_zone", "/locale"}, problem["violations"]
    messages = {v["path"]: v["message"] for v in problem["violations"]}
    assert "Mars/Olympus_Mons" in messages["/time_zone"]
    assert "zz_ZZ" in messages["/locale"]
    assert_problem(api.get(f"/v1/customers/{customer}"), 404, "not_found")


def test_consent_answers_are_kept_in_a_history(api: Api) -> None:
    customer = make_customer(api)
    url = f"/v1/customers/{customer}/consents"
    assert consents(api, customer) == {"customer_id": customer, "consents": [], "history": []}
    answer = {"channel": "sms", "purpose": "marketing", "granted": True,
              "source": "call centre"}
    first = api.post(url, answer, role="marketing")
    assert first.status_code == 200, first.text
    recorded = first.json()
    assert recorded["consents"] == [{"channel": "sms", "purpose": "marketing", "granted": True,
                                     "source": "call centre"}]
    [change] = recorded["history"]
    assert (change["channel"], change["purpose"], change["granted"], change["source"]) == (
        "sms", "marketing", True, "call centre")
    changed_at = datetime.fromisoformat(change["changed_at"])
    assert abs(datetime.now(UTC) - changed_at) < timedelta(minutes=5)

    # The same answer again (even from elsewhere) changes nothing and adds no history.
    repeat = api.post(url, {**answer, "source": "preference centre"})
    assert repeat.status_code == 200, repeat.text
    assert repeat.json() == recorded == consents(api, customer)

    withdrawn = api.post(url, {**answer, "granted": False, "source": "reply STOP"})
    assert withdrawn.status_code == 200, withdrawn.text
    history = consents(api, customer)["history"]
    assert [(h["granted"], h["source"]) for h in history] == [(True, "call centre"),
                                                               (False, "reply STOP")]
    assert consents(api, customer)["consents"][0]["granted"] is False

    bad = api.post(url, {**answer, "purpose": "gossip"})
    assert {v["path"] for v in assert_problem(bad, 422, "request_invalid")["violations"]} == {
        "/purpose"}
    assert_problem(api.post(f"/v1/customers/{new_customer()}/consents", answer), 404,
                   "not_found")


# -- 2. events ----------------------------------------------------------------------------


def test_an_event_moves_the_customer_and_says_what_it_did(api: Api) -> None:
    customer = make_customer(api)
    signed_up = event(customer, "signed_up", as_json(welcome_data(GERMAN)))
    result = post_event(api, signed_up)
    assert result["event_id"] == signed_up["event_id"] and result["index"] == 0
    [transition] = result["transitions"]
    assert (transition["journey"], transition["from"], transition["to"],
            transition["outcome"], transition["event_type"]) == (
        "utility-customer", None, "welcome", "entered", "signed_up")
    assert transition["trigger"] == f"event:{signed_up['event_id']}"
    assert not transition["superseded"]
    [send] = result["sends"]
    assert (send["template"], send["stage"], send["purpose"], send["channel"],
            send["status"]) == ("welcome-letter", "welcome", "transactional", "email", "queued")
    assert send["decision"][-1] == {"channel": "email", "taken": True,
                                    "reason": "transactional"}
    assert result["follow_ups_cancelled"] == []

    # The same event again is a duplicate and does nothing more.
    duplicate = api.post("/v1/events", signed_up)
    assert duplicate.status_code == 200, duplicate.text
    assert duplicate.json() == {"index": 0, "event_id": signed_up["event_id"],
                                "status": "duplicate", "transitions": [], "sends": [],
                                "follow_ups_cancelled": []}
    in_batch = api.post("/v1/events", [signed_up])
    assert in_batch.status_code == 200, in_batch.text
    assert (in_batch.json()["accepted"], in_batch.json()["duplicate"]) == (0, 1)
    path = path_of(api, customer)
    assert len(path["transitions"]) == 1 and len(path["sends"]) == 1
    assert path["sends"][0]["id"] == send["id"]

    # The same id for another event is refused, and changes nothing either.
    reused = api.post("/v1/events", {**signed_up, "payload": {"other": True}})
    problem = assert_problem(reused, 409, "event_id_reused")
    assert signed_up["event_id"] in problem["detail"]
    reused_at = api.post("/v1/events", {**signed_up, "occurred_at": "2026-01-01T00:00:00Z"})
    assert_problem(reused_at, 409, "event_id_reused")
    path = path_of(api, customer)
    assert len(path["transitions"]) == 1 and len(path["sends"]) == 1


def test_a_batch_refuses_bad_events_one_by_one(api: Api) -> None:
    customer = make_customer(api)
    bill = event(customer, "bill_issued", as_json(bill_data(GERMAN)),
                 at=datetime.now(UTC) - timedelta(minutes=5))
    no_zone = {**event(customer, "payment_received"), "event_id": f"{customer}-no-zone",
               "occurred_at": "2026-11-20T09:30:00"}
    bad_type = {**event(customer, "x"), "event_id": f"{customer}-bad-type",
                "type": "Bill Issued!"}
    reply = api.post("/v1/events", [no_zone, bill, bad_type, "not an event"])
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert (body["accepted"], body["duplicate"], body["refused"]) == (1, 0, 3)
    results = body["results"]
    assert [r["index"] for r in results] == [0, 1, 2, 3]
    assert [r["status"] for r in results] == ["refused", "accepted", "refused", "refused"]
    assert [r["event_id"] for r in results] == [no_zone["event_id"], bill["event_id"],
                                                bad_type["event_id"], None]
    for refused, pointer in ((results[0], "/occurred_at"), (results[2], "/type")):
        error = refused["error"]
        assert (error["status"], error["code"]) == (422, "request_invalid")
        assert [v["path"] for v in error["violations"]] == [pointer], error
    assert "time zone" in results[0]["error"]["violations"][0]["message"]
    assert [t["to"] for t in results[1]["transitions"]] == ["first-bill"]
    assert [s["template"] for s in results[1]["sends"]] == ["utility-bill"]
    # Only the good event left a trace.
    path = path_of(api, customer)
    assert [t["event_type"] for t in path["transitions"]] == ["bill_issued"]
    # A refused event's id stays free: sent again correctly, it is accepted.
    fixed = post_event(api, {**no_zone, "occurred_at": datetime.now(UTC).isoformat()})
    assert fixed["event_id"] == no_zone["event_id"]


def test_a_batch_holds_at_most_a_thousand_events(api: Api) -> None:
    customer = new_customer()
    events = [event(customer, "signed_up", event_id=f"{customer}-{n}") for n in range(1001)]
    problem = assert_problem(api.post("/v1/events", events), 422, "input_invalid")
    assert "1000" in problem["detail"] and "1001" in problem["detail"]
    assert_problem(api.post("/v1/events", []), 422, "input_invalid")
    # Nothing of the refused batch was kept, not even the customer.
    assert_problem(api.get(f"/v1/customers/{customer}"), 404, "not_found")


def test_an_event_for_an_unknown_customer_creates_a_bare_profile(api: Api) -> None:
    assert api.settings.events_unknown_customer == "create"
    customer = new_customer()
    assert_problem(api.get(f"/v1/customers/{customer}"), 404, "not_found")
    result = post_event(api, event(customer, "signed_up", as_json(welcome_data(GERMAN))))
    shown = api.get(f"/v1/customers/{customer}")
    assert shown.status_code == 200, shown.text
    assert shown.json() == {
        "id": customer, "name": customer, "locale": None, "time_zone": "UTC", "email": None,
        "phone": None, "postal_address": [], "preferred_channel": None, "attributes": {},
        "consents": []}
    # In the journey, but with no way to reach them yet: the welcome is suppressed.
    assert [t["to"] for t in result["transitions"]] == ["welcome"]
    [send] = result["sends"]
    assert send["status"] == "suppressed" and send["channel"] is None
    assert send["reason"].startswith("no channel allowed")


# -- 3. a customer's path -----------------------------------------------------------------


def test_the_path_shows_stages_sends_and_the_pending_follow_up(api: Api) -> None:
    customer = make_customer(api)
    now = datetime.now(UTC).replace(microsecond=0)
    signed_at, billed_at = now - timedelta(hours=2), now - timedelta(hours=1)
    post_event(api, event(customer, "signed_up", as_json(welcome_data(GERMAN)), at=signed_at))
    bill = post_event(api, event(customer, "bill_issued", as_json(bill_data(GERMAN)),
                                 at=billed_at))

    path = path_of(api, customer)
    assert path["customer_id"] == customer
    [journey] = path["journeys"]
    assert (journey["journey"], journey["stage"], journey["status"]) == (
        "utility-customer", "first-bill", "active")
    assert datetime.fromisoformat(journey["entered_at"]) == billed_at
    assert journey["finished_at"] is None
    transitions = path["transitions"]
    assert [(t["from"], t["to"], t["outcome"], t["event_type"]) for t in transitions] == [
        (None, "welcome", "entered", "signed_up"),
        ("welcome", "first-bill", "entered", "bill_issued")]
    assert not any(t["superseded"] for t in transitions)
    assert [datetime.fromisoformat(t["occurred_at"]) for t in transitions] == [signed_at,
                                                                               billed_at]
    sends = {s["template"]: s for s in path["sends"]}
    assert set(sends) == {"welcome-letter", "utility-bill"}
    assert sends["utility-bill"]["id"] == bill["sends"][0]["id"]
    assert sends["utility-bill"]["channel"] == "email"
    [follow_up] = path["follow_ups"]
    assert (follow_up["journey"], follow_up["stage"], follow_up["name"], follow_up["status"],
            follow_up["unless"]) == ("utility-customer", "first-bill", "payment-reminder",
                                     "pending", ["payment_received"])
    # Due as long after the bill as the stock journey says (14d when this was written).
    [stock_follow_up] = next(stage for stage in stock_journey()["stages"]
                             if stage["key"] == "first-bill")["follow_ups"]
    wait = parse_duration(stock_follow_up["after"])
    assert datetime.fromisoformat(follow_up["due_at"]) == billed_at + wait

    # A payment cancels the reminder.
    invoice = bill_data(GERMAN)["invoice_number"]
    paid = post_event(api, event(customer, "payment_received", {"invoice_number": invoice}))
    assert paid["follow_ups_cancelled"] == [follow_up["id"]]
    [cancelled] = path_of(api, customer)["follow_ups"]
    assert cancelled["status"] == "cancelled" and "payment_received" in cancelled["resolution"]


def test_the_path_of_an_unknown_customer_is_not_found(api: Api) -> None:
    assert_problem(api.get(f"/v1/customers/{new_customer()}/journeys"), 404, "not_found")


# -- 4. journey definitions ---------------------------------------------------------------


def _broken(*, definition: bool = True, registry: bool = True) -> dict[str, Any]:
    """The stock journey with problems of its own (``definition``: an unreachable stage and
    two conditions that do not compile) and against the template registry (``registry``:
    an unknown template, and a template whose stage tag does not match its stage)."""
    broken = stock_journey()
    stages = {stage["key"]: stage for stage in broken["stages"]}
    if registry:
        stages["welcome"]["communications"][0]["template"] = "no-such-template"
        stages["first-bill"]["communications"][0]["template"] = "welcome-letter"  # welcome's
    if definition:
        stages["welcome"]["entry"][0]["condition"] = "payload.__class__"
        stages["loyalty-offer"]["entry"][0]["condition"] = "customr.x == 1"
        broken["stages"].append({"key": "orphan", "name": "Nobody gets here"})
    return broken


#: Words that name each problem of ``_broken``.
DEFINITION_PROBLEMS: list[tuple[str, ...]] = [
    ("'orphan'", "unreachable"), ("'welcome'", "payload.__class__"),
    ("'loyalty-offer'", "customr")]
REGISTRY_PROBLEMS: list[tuple[str, ...]] = [
    ("'welcome'", "no-such-template"),
    ("'first-bill'", "welcome-letter", "utility-customer/welcome")]


def _refused(api: Api, definition: dict[str, Any],
             expected: Sequence[tuple[str, ...]]) -> None:
    before = api.get("/v1/journeys/utility-customer", role="marketing").json()
    for publish in ("false", "true"):
        reply = api.post(f"/v1/journeys?publish={publish}", definition, role="marketing")
        problems = assert_problem(reply, 422, "journey_invalid")["problems"]
        assert isinstance(problems, list) and all(isinstance(p, str) for p in problems)
        for words in expected:
            assert any(all(word in p for word in words) for p in problems), (words, problems)
        assert len(problems) == len(expected), problems
    assert api.get("/v1/journeys/utility-customer", role="marketing").json() == before


def test_a_journey_with_problems_of_its_own_is_refused_naming_each(api: Api) -> None:
    _refused(api, _broken(registry=False), DEFINITION_PROBLEMS)


def test_a_journey_that_does_not_match_the_registry_is_refused_naming_each(api: Api) -> None:
    _refused(api, _broken(definition=False), REGISTRY_PROBLEMS)


def test_an_invalid_journey_is_refused_with_every_problem_at_once(api: Api) -> None:
    _refused(api, _broken(), DEFINITION_PROBLEMS + REGISTRY_PROBLEMS)


def test_the_stock_definition_again_makes_no_new_version(api: Api) -> None:
    versions = api.get("/v1/journeys/utility-customer", role="marketing").json()["versions"]
    same = api.post("/v1/journeys", stock_journey(), role="marketing")
    assert same.status_code == 200, same.text
    assert (same.json()["version"], same.json()["status"]) == (versions[-1]["version"],
                                                               "published")
    assert api.get("/v1/journeys/utility-customer", role="marketing").json()[
        "versions"] == versions


def _own_journey(api: Api) -> dict[str, Any]:
    """A journey of this test's own, with a template tagged for it. Its events are its
    own too, so no other test's customers meet it (the stock journey stays at the
    versions other modules expect: they share the database)."""
    key = f"t-{uuid.uuid4().hex[:10]}"
    template = {"key": f"{key}-hello", "kind": "notice", "brand": "northwind",
                "description": "Hello from a test journey", "version": {
                    "journey": key, "stage": "hello",
                    "bodies": {"sms": "Hello {{ name }}, {{ brand.company_name }} here."},
                    "data_schema": {"type": "object", "required": ["name"],
                                    "properties": {"name": {"type": "string"}}},
                    "sample_data": {"name": "Ada"}}}
    made = api.post("/v1/templates", template, role="marketing")
    assert made.status_code == 201, made.text
    assert publish_reviewed(api, template["key"], 1).status_code == 200
    return {"key": key, "name": "Test journey", "description": "The first words.",
            "goal": {"event": f"{key}.done"},
            "stages": [{"key": "hello", "entry": [{"event": f"{key}.started"}],
                        "communications": [{"template": f"{key}-hello",
                                            "channels": ["sms"]}]}]}


def test_a_journey_version_is_drafted_published_and_replaced(api: Api) -> None:
    first = _own_journey(api)
    key = first["key"]
    url = f"/v1/journeys/{key}"

    def started(customer: str) -> dict[str, Any]:
        return post_event(api, event(customer, f"{key}.started", {"name": "Ada"}))

    def overview() -> dict[str, Any]:
        listed: dict[str, Any] = {j["key"]: j for j in
                                  api.get("/v1/journeys", role="auditor").json()}[key]
        return listed

    # A draft is not live: events pass it by.
    draft = api.post("/v1/journeys", first, role="marketing")
    assert draft.status_code == 201, draft.text
    assert (draft.json()["journey"], draft.json()["version"], draft.json()["status"]) == (
        key, 1, "draft")
    assert draft.json()["published_at"] is None
    assert overview()["published_version"] is None
    assert started(new_customer())["transitions"] == []

    published = api.post(f"{url}/versions/1/publish", {}, role="marketing")
    assert published.status_code == 200, published.text
    assert (published.json()["version"], published.json()["status"]) == (1, "published")
    assert published.json()["published_at"] is not None
    customer = new_customer()
    [entered] = started(customer)["transitions"]
    assert (entered["journey"], entered["journey_version"], entered["to"]) == (key, 1, "hello")
    same = api.post("/v1/journeys", first, role="marketing")  # the same again: no new one
    assert same.status_code == 200 and same.json()["version"] == 1

    # A new description is a new version: a draft (not live) until published.
    second = {**copy.deepcopy(first), "description": "Other words, same journey."}
    drafted = api.post("/v1/journeys", second, role="marketing")
    assert drafted.status_code == 201, drafted.text
    assert (drafted.json()["version"], drafted.json()["status"]) == (2, "draft")
    assert drafted.json()["definition"]["description"] == "Other words, same journey."
    listed = api.get(url, role="auditor").json()
    assert (listed["key"], listed["name"]) == (key, "Test journey")
    assert [(v["version"], v["status"]) for v in listed["versions"]] == [
        (1, "published"), (2, "draft")]
    assert "definition" not in listed["versions"][0]
    assert overview()["published_version"] == 1
    [entered] = started(new_customer())["transitions"]
    assert entered["journey_version"] == 1

    published = api.post(f"{url}/versions/2/publish", {}, role="marketing")
    assert published.status_code == 200, published.text
    assert (published.json()["version"], published.json()["status"]) == (2, "published")
    shown = api.get(f"{url}/versions/2", role="marketing").json()
    assert shown["status"] == "published" and shown["definition"] == drafted.json()[
        "definition"]
    assert overview()["published_version"] == 2
    [entered] = started(new_customer())["transitions"]
    assert entered["journey_version"] == 2
    # A customer already in the journey follows the live version from their next event.
    [entered] = started(customer)["transitions"]
    assert (entered["journey_version"], entered["from"], entered["to"]) == (2, "hello",
                                                                          "hello")

    # The first definition again differs from the latest: a third version, published.
    third = api.post("/v1/journeys?publish=true", first, role="marketing")
    assert third.status_code == 201, third.text
    assert (third.json()["version"], third.json()["status"]) == (3, "published")
    assert third.json()["definition"] == api.get(f"{url}/versions/1").json()["definition"]
    assert [(v["version"], v["status"]) for v in api.get(url).json()["versions"]] == [
        (1, "published"), (2, "published"), (3, "published")]
    assert overview()["published_version"] == 3

    assert_problem(api.post(f"{url}/versions/9/publish", {}, role="marketing"), 404,
                   "not_found")
    assert_problem(api.get(f"{url}/versions/9"), 404, "not_found")
    assert_problem(api.get("/v1/journeys/no-such-journey"), 404, "not_found")
    assert_problem(api.post(f"{url}/versions/3/publish", {}, role="billing"), 403,
                   "forbidden")


# -- 5. tracking and one-click unsubscribe ------------------------------------------------


def _html(mail: EmailMessage) -> str:
    part = next(p for p in mail.walk() if p.get_content_type() == "text/html")
    content: str = part.get_content()
    return content


def _local(api: Api, url: str) -> str:
    """A URL under the app's public base, as a path for the TestClient."""
    base = api.settings.public_url.rstrip("/")
    assert url.startswith(f"{base}/"), url
    return urlsplit(url).path


def _altered(token: str) -> str:
    """The token with one character of its signature changed."""
    i = len(token) - 5
    return token[:i] + ("A" if token[i] != "A" else "B") + token[i + 1:]


def test_a_click_completes_the_journey_and_one_click_unsubscribes(
        api: Api, delivery: Delivery) -> None:
    base = re.escape(api.settings.public_url.rstrip("/"))
    customer = make_customer(api, consents=[{"channel": "email", "purpose": "marketing",
                                             "granted": True, "source": "signup form"}])
    paid = post_event(api, event(customer, "payment_received", {"amount": 96.0}))
    assert [t["to"] for t in paid["transitions"]] == ["loyalty-offer"]
    [offer] = paid["sends"]
    assert (offer["template"], offer["purpose"], offer["channel"], offer["status"]) == (
        "loyalty-offer", "marketing", "email", "queued")

    delivery.run()
    [sent] = path_of(api, customer)["sends"]
    assert sent["id"] == offer["id"] and sent["status"] == "sent", sent
    [mail] = delivery.mail_for(offer["id"])
    assert mail["To"] == f"{customer.lower()}@example.de"
    html = _html(mail)
    assert f'href="{OFFER_URL}' not in html  # every web link goes through ccm
    clicks = list(dict.fromkeys(re.findall(rf'href="({base}/t/c/[^"]+)"',
                                           html)))
    [pixel] = re.findall(rf'src="({base}/t/o/[^"]+\.gif)"', html)
    with unit_of_work(make_session_factory(api.engine)) as session:
        stored = session.get(Send, offer["id"])
        assert stored is not None
        links = list(stored.links)
        secret = tracking_secret(session, api.settings)
    assert len(clicks) == len(links) and OFFER_URL in links
    offer_click = _local(api, clicks[links.index(OFFER_URL)])
    token = offer_click.removeprefix("/t/c/")

    # -- one-click unsubscribe: the page asks, the POST acts (RFC 8058) --
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    match = re.fullmatch(r"<([^>]+)>", mail["List-Unsubscribe"])
    assert match is not None, mail["List-Unsubscribe"]
    unsubscribe = _local(api, match.group(1))
    assert unsubscribe.startswith("/u/")
    before = consents(api, customer)
    page = api.client.get(unsubscribe)
    assert page.status_code == 200, page.text
    assert page.headers["content-type"].startswith("text/html")
    assert '<form method="post"' in page.text and "email" in page.text
    assert consents(api, customer) == before  # a link scanner's GET changes nothing
    done = api.client.post(unsubscribe, content=b"List-Unsubscribe=One-Click",
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert done.status_code == 200, done.text
    assert "unsubscribed" in done.text
    after = consents(api, customer)
    assert after["consents"] == [{"channel": "email", "purpose": "marketing", "granted": False,
                                  "source": after["consents"][0]["source"]}]
    last = after["history"][-1]
    assert (last["channel"], last["purpose"], last["granted"]) == ("email", "marketing", False)
    assert "unsubscribe" in last["source"] and offer["id"] in last["source"]
    assert len(after["history"]) == len(before["history"]) + 1
    # Once more changes nothing more.
    assert api.client.post(unsubscribe).status_code == 200
    assert consents(api, customer)["history"] == after["history"]

    # The next bill paid brings the next offer, which is now suppressed.
    post_event(api, event(customer, "bill_issued", as_json(bill_data(GERMAN))))
    later = post_event(api, event(customer, "payment_received", {"amount": 96.0}))
    [suppressed] = later["sends"]
    assert (suppressed["template"], suppressed["status"]) == ("loyalty-offer", "suppressed")
    assert "marketing consent withdrawn" in suppressed["reason"], suppressed

    # -- the offer's link: a redirect to the offer, and the journey's goal --
    clicked = api.client.get(offer_click, follow_redirects=False)
    assert clicked.status_code == 302, clicked.text
    assert clicked.headers["location"] == OFFER_URL
    assert "no-store" in clicked.headers["cache-control"]
    path = path_of(api, customer)
    [journey] = path["journeys"]
    assert (journey["status"], journey["stage"]) == ("completed", "loyalty-offer")
    assert journey["finished_at"] is not None
    last_transition = path["transitions"][-1]
    assert (last_transition["outcome"], last_transition["event_type"],
            last_transition["to"]) == ("goal_reached", "link_clicked", None)
    # A second click still leads there, and is no second goal.
    assert api.client.get(offer_click, follow_redirects=False).headers[
        "location"] == OFFER_URL
    assert len(path_of(api, customer)["transitions"]) == len(path["transitions"])

    opened = api.client.get(_local(api, pixel))
    assert opened.status_code == 200
    assert opened.headers["content-type"] == "image/gif"
    assert opened.content.startswith(b"GIF89a")
    with unit_of_work(make_session_factory(api.engine)) as session:
        kinds = [e.kind for e in session.scalars(
            select(SendEvent).where(SendEvent.send_id == offer["id"]).order_by(SendEvent.id))]
    assert kinds.count("clicked") == 2 and kinds.count("opened") == 1
    assert kinds.count("unsubscribed") == 1

    # -- forged and altered links lead nowhere --
    payload = base64.urlsafe_b64encode(f"{offer['id']}\x1f0".encode()).rstrip(b"=").decode()
    forged = [
        f"/t/c/{payload}.{'A' * 22}",  # a made-up signature
        "/t/c/" + sign_token(b"not-our-secret-0123456789", "click", offer["id"], "0"),
        f"/t/c/{_altered(token)}",
        "/t/c/" + sign_token(secret, "click", offer["id"], str(len(links))),  # no such link
        "/t/c/" + sign_token(secret, "open", offer["id"]),  # made for another purpose
        f"/t/o/{_altered(_local(api, pixel).removeprefix('/t/o/').removesuffix('.gif'))}.gif",
        f"/u/{_altered(unsubscribe.removeprefix('/u/'))}",
        "/t/c/" + sign_token(secret, "click", "no-such-send", "0"),
    ]
    for url in forged:
        reply = api.client.get(url, follow_redirects=False)
        assert_problem(reply, 404, "tracking_link_invalid")
    assert_problem(api.client.post(f"/u/{_altered(unsubscribe.removeprefix('/u/'))}"), 404,
                   "tracking_link_invalid")


# -- 6. providers' delivery reports -------------------------------------------------------


WEBHOOK_SECRET = "webhook-secret-for-tests-0123456789"


def _signed(body: bytes, secret: str = WEBHOOK_SECRET) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"Content-Type": "application/json", "X-CCM-Signature": f"sha256={digest}"}


@pytest.fixture(scope="module")
def hooks(api: Api, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """An app of its own that knows the webhook secret (the shared one has none)."""
    settings = api_settings(api.engine, Path(api.settings.artifact_dir),
                            webhook_secret=WEBHOOK_SECRET)
    with TestClient(create_app(settings, run_batches=False)) as client:
        yield client


def test_a_webhook_without_a_secret_or_signature_is_refused(api: Api) -> None:
    assert not api.settings.webhook_secret
    body = json.dumps({"message_id": "sms-1", "status": "delivered"}).encode()
    for headers in ({"Content-Type": "application/json"}, _signed(body)):
        reply = api.client.post("/v1/webhooks/sms-http", content=body, headers=headers)
        problem = assert_problem(reply, 401, "webhook_signature_invalid")
        assert "CCM_WEBHOOK_SECRET" in problem["detail"]


def test_delivery_reports_change_the_sends_status(api: Api, delivery: Delivery,
                                                  hooks: TestClient) -> None:
    by_email = make_customer(api)
    by_sms = make_customer(api, preferred_channel="sms", phone="+4915112345678")
    for customer in (by_email, by_sms):
        post_event(api, event(customer, "signed_up", as_json(welcome_data(GERMAN))))
    delivery.run()
    [mailed] = path_of(api, by_email)["sends"]
    [texted] = path_of(api, by_sms)["sends"]
    assert (mailed["channel"], mailed["status"]) == ("email", "sent"), mailed
    assert (texted["channel"], texted["status"]) == ("sms", "sent"), texted
    assert mailed["provider_message_id"] and texted["provider_message_id"]
    [received] = [r for r in delivery.sms.received if r.body["reference"] == texted["id"]]
    assert texted["provider_message_id"] == received.provider_id

    def report(provider: str, value: Any, **headers: str) -> httpx.Response:
        body = json.dumps(value).encode()
        return hooks.post(f"/v1/webhooks/{provider}", content=body,
                          headers={**_signed(body), **headers})

    # Unsigned, or signed with another secret, or for another body: refused, no change.
    body = json.dumps({"message_id": texted["provider_message_id"],
                       "status": "bounced"}).encode()
    refused = [
        hooks.post("/v1/webhooks/sms-http", content=body,
                   headers={"Content-Type": "application/json"}),
        hooks.post("/v1/webhooks/sms-http", content=body,
                   headers=_signed(body, "another-secret-0123456789")),
        hooks.post("/v1/webhooks/sms-http", content=body, headers=_signed(body + b" ")),
        hooks.post("/v1/webhooks/sms-http", content=body,
                   headers={**_signed(body), "X-CCM-Signature": "sha256=" + "0" * 64}),
    ]
    for reply in refused:
        assert_problem(reply, 401, "webhook_signature_invalid")
    assert path_of(api, by_sms)["sends"][0]["status"] == "sent"

    delivered = report("smtp", {"message_id": mailed["provider_message_id"],
                                "status": "delivered"})
    assert delivered.status_code == 200, delivered.text
    assert delivered.json() == {"updated": [{"send_id": mailed["id"], "status": "delivered"}]}
    [now_mailed] = path_of(api, by_email)["sends"]
    assert (now_mailed["status"], now_mailed["reason"]) == ("delivered", None)

    bounced = report("sms-http", [{"message_id": texted["provider_message_id"],
                                   "status": "bounced", "reason": "unknown subscriber"}])
    assert bounced.status_code == 200, bounced.text
    assert bounced.json() == {"updated": [{"send_id": texted["id"], "status": "bounced"}]}
    [now_texted] = path_of(api, by_sms)["sends"]
    assert now_texted["status"] == "bounced"
    assert now_texted["reason"] == "sms-http: unknown subscriber"

    # A bounce after the delivery report (a late bounce) wins over it.
    late = report("smtp", {"message_id": mailed["id"], "status": "bounced",
                           "reason": "mailbox full"})
    assert late.status_code == 200, late.text
    [now_mailed] = path_of(api, by_email)["sends"]
    assert (now_mailed["status"], now_mailed["reason"]) == ("bounced", "smtp: mailbox full")
    with unit_of_work(make_session_factory(api.engine)) as session:
        kinds = [e.kind for e in session.scalars(
            select(SendEvent).where(SendEvent.send_id == mailed["id"]).order_by(SendEvent.id))]
    assert kinds[-2:] == ["delivered", "bounced"]

    unknown = report("sms-http", {"message_id": "sms-no-such-message", "status": "delivered"})
    assert_problem(unknown, 404, "not_found")
    wrong = report("sms-http", {"message_id": texted["provider_message_id"],
                                "status": "read"})
    assert_problem(wrong, 422, "input_invalid")
    not_json = hooks.post("/v1/webhooks/sms-http", content=b"{oops",
                          headers=_signed(b"{oops"))
    assert_problem(not_json, 400, "malformed_body")
    assert path_of(api, by_sms)["sends"][0]["status"] == "bounced"
