"""POST /v1/documents/batch and GET /v1/batches/{id}: background rendering, one bad item
never sinking the others, and no item recorded twice."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from api_support import Api, letter_request, new_customer, promotion_request, wait_for_batch
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ccm.artifacts import LocalArtifactStore
from ccm.audit.models import Communication
from ccm.batches.models import Batch, BatchItem, ItemStatus
from ccm.batches.runner import run_claimed_item
from ccm.batches.service import (
    LeaseLostError,
    claim_items,
    create_batch,
    finish_item,
    load_item,
    release_items,
)
from ccm.db import make_session_factory, unit_of_work
from ccm.documents.service import render_prepared


def test_batch_of_100_with_3_bad_items_records_97(api: Api) -> None:
    customers = [new_customer() for _ in range(100)]
    items: list[Any] = [
        promotion_request(c, "sms") if i % 3 else letter_request(c, "html")
        for i, c in enumerate(customers)
    ]
    del items[7]["data"]["offer"]  # a missing field
    items[42]["data"]["customer"]["name"] = 42  # a mistyped field
    items[99] = {k: v for k, v in items[99].items() if k != "customer_id"}  # a bad envelope

    reply = api.post("/v1/documents/batch", {"items": items})
    assert reply.status_code == 202, reply.text
    receipt = reply.json()
    assert (receipt["total"], receipt["accepted"], receipt["rejected"]) == (100, 97, 3)
    errors = {e["index"]: e for e in receipt["errors"]}
    assert set(errors) == {7, 42, 99}
    assert [v["path"] for v in errors[7]["violations"]] == ["/offer"]
    assert [v["path"] for v in errors[42]["violations"]] == ["/customer/name"]
    assert [v["path"] for v in errors[99]["violations"]] == ["/customer_id"]
    assert errors[99]["code"] == "request_invalid"

    batch = wait_for_batch(api, receipt["url"])
    assert batch["status"] == "completed", batch
    assert (batch["done"], batch["failed"], batch["pending"]) == (97, 3, 0)
    by_index = {item["index"]: item for item in batch["items"]}
    assert by_index[7]["status"] == "failed" and by_index[7]["error"]["code"] == "data_invalid"
    done = [item for item in batch["items"] if item["status"] == "done"]
    assert {item["communication"]["customer_id"] for item in done} == {
        customers[i] for i in range(100) if i not in errors}
    assert all(item["communication"]["batch_index"] == item["index"] for item in done)

    with unit_of_work(make_session_factory(api.engine)) as session:
        recorded = session.scalar(select(func.count()).select_from(Communication)
                                  .where(Communication.batch_id == receipt["id"]))
    assert recorded == 97
    failed_only = api.get(f"{receipt['url']}?status=failed", role="billing").json()
    assert [item["index"] for item in failed_only["items"]] == [7, 42, 99]


def test_batch_limits_are_clear_errors(api: Api) -> None:
    too_many = {"items": [promotion_request("x")] * (api.settings.batch_max_items + 1)}
    reply = api.post("/v1/documents/batch", too_many)
    assert reply.status_code == 422 and "at most" in reply.json()["detail"]
    assert api.post("/v1/documents/batch", {"items": []}).status_code == 422
    assert api.post("/v1/documents/batch", {"things": 1}).status_code == 422
    assert api.get("/v1/batches/no-such-batch", role="billing").status_code == 404


def test_all_bad_batch_is_completed_at_once(api: Api) -> None:
    reply = api.post("/v1/documents/batch", {"items": [{"template": "utility-bill"}]})
    assert reply.status_code == 202
    assert reply.json()["status"] == "completed"
    batch = api.get(reply.json()["url"], role="billing").json()
    assert (batch["done"], batch["failed"]) == (0, 1)


@contextmanager
def runner_paused(api: Api) -> Iterator[None]:
    """Stop the app's batch runner (the test claims by hand), then start a fresh one."""
    from ccm.batches.runner import BatchRunner

    services = api.client.app.state.services  # type: ignore[attr-defined]
    old: BatchRunner = services.runner
    old.stop()
    try:
        yield
    finally:
        services.runner = BatchRunner(old.config, workers=old.workers,
                                      executor=old.executor_kind,
                                      lease_seconds=old.lease.total_seconds())
        services.runner.start()


def _queued_batch(session: Session, customer: str, size: int) -> str:
    receipt = create_batch(session, [promotion_request(customer) for _ in range(size)],
                           requested_by="test", max_items=10)
    return receipt.batch.id


def test_a_worker_that_lost_its_lease_records_nothing(api: Api) -> None:
    factory = make_session_factory(api.engine)
    store = LocalArtifactStore(api.settings.artifact_dir)
    customer = new_customer()
    with runner_paused(api):
        with unit_of_work(factory) as session:
            batch_id = _queued_batch(session, customer, 1)
        with unit_of_work(factory) as session:
            [first] = claim_items(session, 10, timedelta(seconds=-1))  # expires at once
        with unit_of_work(factory) as session:
            [second] = claim_items(session, 10, timedelta(seconds=60))  # takes it over
        assert first.item_id == second.item_id and first.token != second.token
        try:
            run_claimed_item(factory, store, first)
            raise AssertionError("the stale worker finished an item it no longer holds")
        except LeaseLostError:
            pass
        assert run_claimed_item(factory, store, second) is ItemStatus.DONE
        assert api.communications(customer) == 1
        with unit_of_work(factory) as session:
            item = session.scalar(select(BatchItem).where(BatchItem.batch_id == batch_id))
            assert item is not None and item.status is ItemStatus.DONE
            assert item.attempts == 2


def test_released_items_go_back_to_the_queue(api: Api) -> None:
    factory = make_session_factory(api.engine)
    with runner_paused(api):
        with unit_of_work(factory) as session:
            batch_id = _queued_batch(session, new_customer(), 2)
        with unit_of_work(factory) as session:
            claimed = claim_items(session, 10, timedelta(seconds=60))
            assert len(claimed) == 2
        with unit_of_work(factory) as session:
            release_items(session, [c.token for c in claimed])
        with unit_of_work(factory) as session:
            statuses = session.scalars(select(BatchItem.status)
                                       .where(BatchItem.batch_id == batch_id)).all()
            assert set(statuses) == {ItemStatus.PENDING}
    body = wait_for_batch(api, f"/v1/batches/{batch_id}")
    assert body["done"] == 2


def test_workers_finishing_the_last_items_at_once_close_the_batch(api: Api) -> None:
    """Each sees the other's item as running until it commits; one must close the batch."""
    factory = make_session_factory(api.engine)
    store = LocalArtifactStore(api.settings.artifact_dir)
    with runner_paused(api):
        with unit_of_work(factory) as session:
            batch_id = _queued_batch(session, new_customer(), 2)
        with unit_of_work(factory) as session:
            claimed = claim_items(session, 10, timedelta(seconds=60))
        works = []
        for item in claimed:
            with unit_of_work(factory) as session:
                works.append(load_item(session, item))
        documents = [render_prepared(w.prepared) for w in works if w.prepared]
        first = factory()
        finish_item(first, store, works[0], documents[0], None)  # not committed yet

        def second() -> None:
            with unit_of_work(factory) as session:
                finish_item(session, store, works[1], documents[1], None)

        thread = threading.Thread(target=second)
        thread.start()
        time.sleep(0.5)  # the second worker is now finishing too, or waiting to
        first.commit()
        first.close()
        thread.join(timeout=60)
        with unit_of_work(factory) as session:
            batch = session.get(Batch, batch_id)
            assert batch is not None and batch.finished_at is not None
