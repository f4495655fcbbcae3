"""PDFs for single-document requests, rendered in worker processes.

A PDF is about 0.2 s of CPU in WeasyPrint, all of it under the GIL: rendered in the
request threads, the API would use one core whatever the machine has. The pool renders
them in processes (one per core by default). HTML, email and SMS take about a
millisecond, less than the trip to a worker, so they stay in the request thread.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from ccm.db import unit_of_work
from ccm.documents.service import PreparedDocument
from ccm.errors import RenderBudgetExceededError, RenderWorkerLostError
from ccm.rendering.engine import default_renderer
from ccm.rendering.service import resolve_specs
from ccm.rendering.spec import RenderedDocument
from ccm.workers import WorkerConfig, process_pool, worker_context

#: Longest a worker may take over one document before the request gives up on it.
RENDER_WAIT_SECONDS = 120.0


def render_in_worker(
    config: WorkerConfig, template_key: str, version: int, data: Mapping[str, Any],
    locale: str, channel: str,
) -> RenderedDocument:
    """Runs in a worker: the specs come from the worker's own cache of the registry."""
    context = worker_context(config)
    with unit_of_work(context.factory) as session:
        template, brand = resolve_specs(session, template_key, version)
    return default_renderer().render(template, brand, data, locale, channel, validate=False)


class RenderPool:
    def __init__(self, config: WorkerConfig, workers: int = 0) -> None:
        self.config = config
        self.workers = workers
        self._executor: ProcessPoolExecutor = process_pool(workers)
        self._lock = threading.Lock()

    def render(self, prepared: PreparedDocument) -> RenderedDocument:
        executor = self._executor
        future = executor.submit(
            render_in_worker, self.config, prepared.template.key, prepared.template.version,
            prepared.data, prepared.locale, prepared.channel.value,
        )
        try:
            return future.result(timeout=RENDER_WAIT_SECONDS)
        except BrokenProcessPool:
            self._replace(executor)
            raise RenderWorkerLostError(
                "the process rendering this document stopped; nothing was recorded — retry"
            ) from None
        except FutureTimeout:
            future.cancel()
            raise RenderBudgetExceededError(
                f"the document took longer than {RENDER_WAIT_SECONDS:.0f} s to render"
            ) from None

    def _replace(self, broken: ProcessPoolExecutor) -> None:
        # A worker died (a crash, or the memory limit): start a fresh pool, once.
        with self._lock:
            if self._executor is broken:
                self._executor = process_pool(self.workers)
        broken.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
