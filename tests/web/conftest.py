"""Studio fixtures: a fresh database with the stock registry and three keys (marketing
"ana" and "ben", billing "billing"); the app in a TestClient (no redirects followed, no
cookies kept between tests); the real app served by uvicorn on a free local port; and
Debian's Chromium driven by Playwright (the browser tests skip without it)."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi.testclient import TestClient
from studio_support import LiveStudio, StudioDatabase, make_database

from ccm.api import create_app

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StudioDatabase]:
    made = make_database(tmp_path_factory.mktemp("studio"))
    yield made
    made.engine.dispose()


@pytest.fixture(scope="module")
def app_client(database: StudioDatabase) -> Iterator[TestClient]:
    with TestClient(create_app(database.settings, run_batches=False),
                    follow_redirects=False) as client:
        yield client


@pytest.fixture
def client(app_client: TestClient) -> Iterator[TestClient]:
    app_client.cookies.clear()
    yield app_client
    app_client.cookies.clear()


@pytest.fixture(scope="module")
def live_studio(database: StudioDatabase) -> Iterator[LiveStudio]:
    """The app on a real socket, as `ccm serve` runs it (without the background workers)."""
    app = create_app(database.settings, run_batches=False)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning",
                                           lifespan="on"))
    thread = threading.Thread(target=server.run, name="studio-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the studio server did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield LiveStudio(f"http://127.0.0.1:{port}", database)
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless Chromium for the module (Debian's; never a downloaded one)."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def screenshot_dir(tmp_path: Path) -> Path:
    """Where screenshots go: ``CCM_SCREENSHOT_DIR`` when set (to look at them), else the
    test's own folder."""
    folder = Path(os.environ.get("CCM_SCREENSHOT_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder
