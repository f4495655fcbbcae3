"""A batch interrupted by stopping the server finishes after a restart, no item twice.

Runs the real thing: ``ccm serve`` in its own process with worker processes, stopped
mid-batch (cleanly, and by SIGKILL), then started again on the same database.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from api_support import bill_request, make_keys, new_customer, to_json
from sqlalchemy import Engine, func, select

from ccm.audit.models import Communication
from ccm.db import make_session_factory, unit_of_work


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def serve(engine: Engine, artifacts: Path, log: Path) -> Iterator[tuple[subprocess.Popen[bytes],
                                                                           str]]:
    port = _free_port()
    env = {**os.environ, "CCM_ARTIFACT_DIR": str(artifacts), "CCM_BATCH_LEASE_SECONDS": "2",
           "CCM_BATCH_EXECUTOR": "process", "CCM_BATCH_WORKERS": "2"}
    url = engine.url.render_as_string(hide_password=False)
    with log.open("ab") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "ccm", "serve", "--port", str(port), "--database-url", url],
            env=env, stdout=output, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/v1/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "ccm serve did not start"
            time.sleep(0.2)
        yield process, base
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)


def _batch(base: str, key: str, batch_id: str) -> dict[str, Any]:
    reply = httpx.get(f"{base}/v1/batches/{batch_id}",
                      headers={"Authorization": f"Bearer {key}"}, timeout=30)
    assert reply.status_code == 200, reply.text
    body: dict[str, Any] = reply.json()
    return body


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGKILL], ids=["term", "kill"])
def test_batch_resumes_after_restart_without_doubles(
    engine: Engine, tmp_path: Path, stop: signal.Signals
) -> None:
    keys, _ = make_keys(engine)
    key = keys["billing"]
    items = [bill_request(new_customer(), "pdf") for _ in range(16)]
    log = tmp_path / "serve.log"
    with serve(engine, tmp_path / "artifacts", log) as (process, base):
        reply = httpx.post(f"{base}/v1/documents/batch", content=to_json({"items": items}),
                           headers={"Authorization": f"Bearer {key}",
                                    "Content-Type": "application/json"}, timeout=60)
        assert reply.status_code == 202, reply.text
        batch_id = reply.json()["id"]
        deadline = time.monotonic() + 60
        while _batch(base, key, batch_id)["done"] < 3:
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        workers = _children(process.pid)
        assert workers, "the server renders batches in worker processes"
        process.send_signal(stop)
        process.wait(timeout=60)
        # Even a server killed outright leaves no worker behind.
        deadline = time.monotonic() + 20
        while any(_alive(pid) for pid in workers):
            assert time.monotonic() < deadline, f"workers {workers} outlived their server"
            time.sleep(0.2)
    interrupted = _count(engine, batch_id)
    assert interrupted < len(items), "the batch finished before the server was stopped"

    with serve(engine, tmp_path / "artifacts", log) as (_, base):
        deadline = time.monotonic() + 120
        while (batch := _batch(base, key, batch_id))["status"] != "completed":
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
    assert (batch["done"], batch["failed"]) == (len(items), 0), batch
    assert _count(engine, batch_id) == len(items)
    with unit_of_work(make_session_factory(engine)) as session:
        indexes = session.scalars(select(Communication.batch_index)
                                  .where(Communication.batch_id == batch_id)).all()
    assert sorted(indexes) == list(range(len(items)))


def _children(pid: int) -> list[int]:
    listing = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True,
                             text=True, check=False).stdout
    return [int(line) for line in listing.split()]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    # A zombie has exited; it only waits for its new parent (init) to reap it.
    return not (stat.exists() and stat.read_text().split(") ")[-1].startswith("Z"))


def _count(engine: Engine, batch_id: str) -> int:
    with unit_of_work(make_session_factory(engine)) as session:
        return int(session.scalar(select(func.count()).select_from(Communication)
                                  .where(Communication.batch_id == batch_id)) or 0)
