"""The README's API tour, run as written: demo, key, server, curl."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def tour_script() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(r"<!-- api-tour:.*?-->\n```sh\n(.*?)```", readme, re.S)
    assert match, "the README has no API tour block"
    return match.group(1)


def _port_busy(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_readme_api_tour_works_as_written(tmp_path: Path) -> None:
    if _port_busy(8000):
        pytest.skip("port 8000, which the tour uses, is taken")
    venv = ROOT / ".venv"
    if not (venv / "bin" / "activate").exists():
        pytest.skip("the tour runs from the project's .venv")
    (tmp_path / ".venv").symlink_to(venv)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CCM_")}
    env["COLUMNS"] = "200"
    process = subprocess.Popen(
        ["bash", "-c", "set -euo pipefail\n" + tour_script()], cwd=tmp_path, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        output, _ = process.communicate(timeout=300)
    finally:
        # The tour starts a server in the background: whatever happened, stop it.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 0, output
    assert (tmp_path / "bill.pdf").read_bytes().startswith(b"%PDF-")
    assert '"customer_id":"C-101502"' in output
    assert '"code":"data_invalid"' in output
    assert '"stage":"loyalty-offer"' in output and '"template":"loyalty-offer"' in output
    assert '"code":"four_eyes"' in output and '"action":"submitted"' in output
    preview = json.loads((tmp_path / "preview.json").read_text())
    assert preview["renders"]["pdf"]["pages"] and preview["renders"]["sms"]["segments"]
    assert "Traceback" not in output
