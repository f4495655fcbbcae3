"""`ccm serve`'s in-process delivery worker: an event posted over HTTP becomes an email
at the SMTP server without any other process running."""

from __future__ import annotations

import time
from pathlib import Path

from api_support import api_settings, make_keys, new_customer, to_json
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from ccm.api import create_app
from ccm.delivery.sinks import SmtpCapture


def test_the_served_app_delivers_what_events_decide(engine: Engine, tmp_path: Path) -> None:
    keys, _ = make_keys(engine)
    headers = {"Authorization": f"Bearer {keys['billing']}", "Content-Type": "application/json"}
    customer = new_customer()
    with SmtpCapture() as smtp:
        settings = api_settings(engine, tmp_path / "artifacts", smtp_port=smtp.port,
                                quiet_hours="", marketing_cap="", worker_poll_seconds=0.1,
                                public_url="http://ccm.example")
        with TestClient(create_app(settings, run_batches=False, run_worker=True)) as client:
            made = client.put(f"/v1/customers/{customer}", headers=headers, content=to_json({
                "name": "Ada Served", "email": "ada.served@example.org",
                "preferred_channel": "email", "attributes": {"tenure_months": 20},
                "consents": [{"channel": "email", "purpose": "marketing", "granted": True,
                              "source": "test"}]}))
            assert made.status_code == 201, made.text
            reply = client.post("/v1/events", headers=headers, content=to_json({
                "event_id": f"served-{customer}", "customer_id": customer,
                "type": "payment_received", "occurred_at": "2026-11-25T10:00:00Z"}))
            assert reply.status_code == 200, reply.text
            [send] = reply.json()["sends"]
            deadline = time.monotonic() + 60
            while not any(send["id"] in (r.message_id or "") for r in smtp.received):
                assert time.monotonic() < deadline, "the in-process worker sent nothing"
                time.sleep(0.1)
            path = client.get(f"/v1/customers/{customer}/journeys",
                              headers=headers).json()
    [mail] = [r.message for r in smtp.received if send["id"] in (r.message_id or "")]
    assert mail["To"] == "ada.served@example.org"
    assert mail["List-Unsubscribe"].startswith("<http://ccm.example/u/")
    assert path["journeys"][0]["stage"] == "loyalty-offer"
