"""The batch runner: claims queued items and renders them on a pool of workers.

One dispatcher thread claims items (with a lease) and hands them to an executor: worker
processes by default, since a PDF is about 0.2 s of CPU and threads would share one core;
threads where processes are not wanted (tests, small machines). The dispatcher renews the
leases of items in flight, and on a clean stop hands back what it claimed but did not
start. A killed server's items are taken over when their leases run out, so a restart
resumes every unfinished batch.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import timedelta
from functools import partial
from typing import Literal

from sqlalchemy.orm import Session, sessionmaker

from ccm.artifacts import ArtifactStore
from ccm.batches.models import ItemStatus
from ccm.batches.service import (
    ClaimedItem,
    LeaseLostError,
    claim_items,
    error_detail,
    extend_leases,
    fail_item,
    finish_item,
    load_item,
    release_items,
)
from ccm.db import make_engine, make_session_factory, unit_of_work
from ccm.documents.service import render_prepared
from ccm.errors import CCMError
from ccm.workers import WorkerConfig, default_workers, process_pool, worker_context

log = logging.getLogger(__name__)


def run_claimed_item(
    factory: sessionmaker[Session], store: ArtifactStore, claimed: ClaimedItem
) -> ItemStatus:
    """Check, render and record one claimed item. The render runs between two short
    transactions, so no database connection or lock is held while it works."""
    with unit_of_work(factory) as session:
        work = load_item(session, claimed)
    document, error = None, None
    if work.prepared is not None:
        try:
            document = render_prepared(work.prepared)
        except CCMError as exc:
            error = error_detail(exc)
    with unit_of_work(factory) as session:
        return finish_item(session, store, work, document, error)


def process_item(config: WorkerConfig, claimed: ClaimedItem) -> str:
    """Run one claimed item to its end; returns the item's final status (or ``lost``)."""
    context = worker_context(config)
    try:
        return run_claimed_item(context.factory, context.store, claimed).value
    except LeaseLostError:
        return "lost"
    except Exception as exc:  # an unexpected failure: retried, then failed, never dropped
        log.exception("batch item %s failed unexpectedly", claimed.item_id)
        with unit_of_work(context.factory) as session:
            fail_item(session, claimed, f"{type(exc).__name__}: {exc}")
        return "error"


class BatchRunner:
    """Claims and renders batch items until stopped; safe to run on several servers."""

    def __init__(
        self,
        config: WorkerConfig,
        *,
        workers: int = 0,
        executor: Literal["process", "thread"] = "process",
        lease_seconds: float = 30.0,
        poll_seconds: float = 1.0,
    ) -> None:
        self.config = config
        self.workers = workers or default_workers()
        self.executor_kind = executor
        self.lease = timedelta(seconds=lease_seconds)
        self.poll_seconds = poll_seconds
        self._engine = make_engine(config.database_url)
        self._factory = make_session_factory(self._engine)
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._in_flight: dict[str, Future[str]] = {}
        self._lock = threading.Lock()
        self._executor: Executor | None = None
        self._thread: threading.Thread | None = None

    # -- life cycle -------------------------------------------------------------------

    def start(self) -> None:
        self._executor = self._new_executor()
        self._thread = threading.Thread(target=self._run, name="ccm-batch-runner", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """New work was queued: look now rather than at the next poll."""
        self._wake.set()

    def stop(self) -> None:
        """Stop claiming, hand back items not yet begun, wait for the ones running."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join()
        if self._executor is not None:
            not_started = [token for token, future in self._snapshot() if future.cancel()]
            self._release(not_started)
            self._executor.shutdown(wait=True)
        self._engine.dispose()

    def _new_executor(self) -> Executor:
        if self.executor_kind == "thread":
            return ThreadPoolExecutor(self.workers, thread_name_prefix="ccm-batch")
        return process_pool(self.workers)

    # -- the dispatcher ---------------------------------------------------------------

    def _snapshot(self) -> list[tuple[str, Future[str]]]:
        with self._lock:
            return list(self._in_flight.items())

    def _run(self) -> None:
        renew_every = self.lease.total_seconds() / 3
        last_renewal = 0.0
        while not self._stopping.is_set():
            try:
                claimed = self._claim()
                now = time.monotonic()
                if now - last_renewal >= renew_every:
                    self._renew()
                    last_renewal = now
            except Exception:  # the database may be briefly unreachable: try again
                log.exception("batch runner could not claim work")
                claimed = 0
            if not claimed:
                self._wake.wait(min(self.poll_seconds, renew_every))
                self._wake.clear()

    def _claim(self) -> int:
        free = self.workers * 2 - len(self._snapshot())  # keep every worker busy
        if free <= 0:
            return 0
        with unit_of_work(self._factory) as session:
            claimed = claim_items(session, free, self.lease)
        for item in claimed:
            self._submit(item)
        return len(claimed)

    def _submit(self, item: ClaimedItem) -> None:
        assert self._executor is not None
        try:
            future = self._executor.submit(process_item, self.config, item)
        except BrokenProcessPool:
            # A worker process died (a crash or the memory limit): start a fresh pool. Its
            # items come back when their leases run out.
            self._executor = self._new_executor()
            future = self._executor.submit(process_item, self.config, item)
        with self._lock:
            self._in_flight[item.token] = future
        future.add_done_callback(partial(self._done, item.token))

    def _done(self, token: str, _future: Future[str]) -> None:
        with self._lock:
            self._in_flight.pop(token, None)
        self._wake.set()

    def _renew(self) -> None:
        tokens = [token for token, _ in self._snapshot()]
        if tokens:
            with unit_of_work(self._factory) as session:
                extend_leases(session, tokens, self.lease)

    def _release(self, tokens: list[str]) -> None:
        if tokens:
            with unit_of_work(self._factory) as session:
                release_items(session, tokens)
