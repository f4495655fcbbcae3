"""Worker processes: what a process needs to reach the same database and artifact store.

The API renders PDFs and batch items in worker processes (spawned, not forked: the server
has threads, and a forked copy of a lock one of them holds would never be released in
the child). A worker gets a picklable :class:`WorkerConfig` and builds its engine and
store once per process.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from ccm.artifacts import ArtifactStore, LocalArtifactStore
from ccm.db import make_engine, make_session_factory


@dataclass(frozen=True)
class WorkerConfig:
    """What a worker needs to reach the same database and artifact store (picklable)."""

    database_url: str
    artifact_dir: Path


@dataclass
class WorkerContext:
    engine: Engine
    factory: sessionmaker[Session]
    store: ArtifactStore


_contexts: dict[WorkerConfig, WorkerContext] = {}
_contexts_lock = threading.Lock()


def worker_context(config: WorkerConfig) -> WorkerContext:
    """This process's engine and store for ``config``, made on first use."""
    with _contexts_lock:
        context = _contexts.get(config)
        if context is None:
            engine = make_engine(config.database_url)
            context = WorkerContext(engine, make_session_factory(engine),
                                    LocalArtifactStore(config.artifact_dir))
            _contexts[config] = context
        return context


def default_workers() -> int:
    return max(1, os.cpu_count() or 1)


def process_pool(workers: int) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(workers or default_workers(),
                               mp_context=multiprocessing.get_context("spawn"),
                               initializer=_follow_parent, initargs=(os.getpid(),))


def _follow_parent(parent: int, poll_seconds: float = 1.0) -> None:
    """Runs in each worker: exit when the server that started it is gone.

    A server killed outright (SIGKILL, the OOM killer) cannot shut its pool down, and
    its workers would wait for work forever: each holds the task queue's write end too,
    so none of them ever reads an end of file. The batch items they held are taken over
    once their leases run out, so leaving is safe.
    """

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(poll_seconds)
        os._exit(0)

    threading.Thread(target=watch, name="ccm-follow-parent", daemon=True).start()
