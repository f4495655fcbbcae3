"""Requests per second and latency of `POST /v1/documents` under concurrent load, beside the
in-process render of the same document measured in the same run.

    python bench/bench_api.py             # prints a Markdown table and where the time goes
    python bench/bench_api.py --quick     # fewer requests, for a smoke run
    python bench/bench_api.py --database-url postgresql+psycopg://…   # instead of SQLite

The script makes a throwaway folder (SQLite database, artifact folder, server log), loads
the stock registry, creates a billing API key and starts `ccm serve` on a free loopback
port. The load comes from another process: threads there, each with its own keep-alive
connection (`http.client`), send the stock bill (one customer, German) as fast as replies
come back (a closed loop), asking for the document itself (`Accept: application/pdf`,
`text/html`, `text/plain`). Warm-up requests are not counted.

Baselines, in this process, in the same run (half just before their channel's load, half
just after, the server idle meanwhile): the raw render of the same document
(`Renderer.render`), and the whole document service without HTTP (`request_document`:
checks, template lookup, render, artifact store, communication record, commit). The SMS
channel renders in well under a millisecond, so its latency is the cost of a request apart
from rendering. Failed requests are counted, not timed; the server's log is checked for
unexpected errors.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import math
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"
TEMPLATE = "utility-bill"
CUSTOMER = 2  # SAMPLE_CUSTOMERS[2]: Jürgen Weiß, de_DE, electricity and gas (two pages)
MEDIA_TYPES = {"pdf": "application/pdf", "html": "text/html", "sms": "text/plain"}
LABELS = {"pdf": "PDF", "html": "HTML", "sms": "SMS"}

#: Timed requests per channel: (full run, --quick) under load, and serially (one client).
LOADED: dict[str, tuple[int, int]] = {"pdf": (64, 16), "html": (600, 120), "sms": (600, 120)}
SERIAL: dict[str, tuple[int, int]] = {"pdf": (16, 3), "html": (150, 30), "sms": (150, 30)}
#: In-process documents per channel, each of render and service (full run, --quick).
IN_PROCESS: dict[str, tuple[int, int]] = {"pdf": (20, 4), "html": (300, 40), "sms": (300, 40)}


# -- load generator (runs in its own process; imports nothing from ccm) ---------------------

def _percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def generate_load(job: dict[str, Any]) -> dict[str, Any]:
    """``job["concurrency"]`` clients, each on its own keep-alive connection, send the same
    request until ``job["requests"]`` timed replies are in; each first sends
    ``job["warmup"]`` untimed ones, and the timed requests start together."""
    body = job["body"].encode()
    headers = {"Content-Type": "application/json", "Accept": job["accept"],
               "Authorization": f"Bearer {job['key']}"}
    concurrency: int = job["concurrency"]
    tickets = itertools.count()  # next() on a count is atomic under the GIL
    latencies: list[float] = []
    sizes: list[int] = []
    failures: list[str] = []
    started: list[float] = []
    ended: list[float] = []
    lock = threading.Lock()
    barrier = threading.Barrier(concurrency, action=lambda: started.append(time.perf_counter()))

    def post(connection: http.client.HTTPConnection) -> tuple[int, bytes, str]:
        connection.request("POST", "/v1/documents", body=body, headers=headers)
        reply = connection.getresponse()
        return reply.status, reply.read(), reply.getheader("content-type", "")

    def client() -> None:
        connection = http.client.HTTPConnection(HOST, job["port"], timeout=120)
        try:
            for _ in range(job["warmup"]):
                try:
                    post(connection)
                except (OSError, http.client.HTTPException):
                    connection.close()  # reconnects on the next request
            barrier.wait()
            # Waiting for the others' warm-up may outlast the server's keep-alive timeout:
            # start on a fresh connection (it opens with the first timed request).
            connection.close()
            while next(tickets) < job["requests"]:
                start = time.perf_counter()
                try:
                    status, content, media_type = post(connection)
                except (OSError, http.client.HTTPException) as exc:
                    connection.close()
                    status, content, media_type = 0, f"{type(exc).__name__}: {exc}".encode(), ""
                elapsed = time.perf_counter() - start
                with lock:
                    if status == 201 and media_type.startswith(job["accept"]):
                        latencies.append(elapsed)
                        sizes.append(len(content))
                    else:
                        failures.append(f"{status} {media_type}: {content[:300]!r}")
            with lock:
                ended.append(time.perf_counter())
        finally:
            connection.close()

    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if not latencies:
        return {"failures": failures[:5], "failed": len(failures)}
    wall = max(ended) - started[0]
    return {"requests": len(latencies) + len(failures), "errors": len(failures),
            "error_samples": sorted(set(failures))[:5], "concurrency": concurrency,
            "wall_s": wall, "rps": len(latencies) / wall,
            "p50_s": statistics.median(latencies), "p99_s": _percentile(latencies, 0.99),
            "bytes": statistics.median(sizes)}


def run_load(job: dict[str, Any]) -> dict[str, Any]:
    """:func:`generate_load` in another process, so the clients never share this one's
    interpreter (nor the server's)."""
    out = subprocess.run([sys.executable, __file__, "--load"], input=json.dumps(job),
                         check=True, capture_output=True, text=True).stdout
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    if "failures" in result:
        raise RuntimeError(f"all {result['failed']} request(s) failed, e.g. "
                           f"{result['failures']}")
    if result["errors"]:
        print(f"{result['errors']} of {result['requests']} request(s) failed, e.g. "
              f"{result['error_samples']}", file=sys.stderr)
    return result


# -- the server -----------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
    return port


def start_server(database_url: str, folder: Path) -> tuple[subprocess.Popen[bytes], int, Path]:
    """`ccm serve` on a free loopback port, batches off; returns once /v1/health says ok."""
    port = _free_port()
    log = folder / "server.log"
    env = {**os.environ, "CCM_ARTIFACT_DIR": str(folder / "server-artifacts"),
           "CCM_DATABASE_URL": database_url}
    with log.open("wb") as handle:
        server = subprocess.Popen(
            [sys.executable, "-m", "ccm", "serve", "--host", HOST, "--port", str(port),
             "--database-url", database_url, "--no-batches"],
            stdin=subprocess.DEVNULL, stdout=handle, stderr=subprocess.STDOUT, env=env)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"ccm serve exited with {server.returncode}:\n"
                               + log.read_text(errors="replace")[-2000:])
        try:
            connection = http.client.HTTPConnection(HOST, port, timeout=5)
            connection.request("GET", "/v1/health")
            if connection.getresponse().status == 200:
                connection.close()
                return server, port, log
            connection.close()
        except OSError:
            pass
        time.sleep(0.2)
    server.kill()
    raise RuntimeError("ccm serve did not become healthy within 90 s")


def stop_server(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is None:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


# -- in-process baselines -------------------------------------------------------------------

def _json_default(value: object) -> object:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


def request_body(channel: str) -> str:
    from ccm.stock.customers import SAMPLE_CUSTOMERS, bill_data

    customer = SAMPLE_CUSTOMERS[CUSTOMER]
    return json.dumps({"template": TEMPLATE, "customer_id": customer.customer_id,
                       "channel": channel, "locale": customer.locale,
                       "data": bill_data(customer)}, default=_json_default)


class InProcess:
    """The same document rendered, and produced by the document service, in this process."""

    def __init__(self, database_url: str, folder: Path) -> None:
        from ccm.artifacts import LocalArtifactStore
        from ccm.db import make_engine, make_session_factory, unit_of_work
        from ccm.inputs import normalise_numbers
        from ccm.rendering.engine import default_renderer
        from ccm.rendering.service import resolve_specs

        self.engine = make_engine(database_url)
        self.factory = make_session_factory(self.engine)
        self.unit_of_work = unit_of_work
        self.store = LocalArtifactStore(folder / "in-process-artifacts")
        self.renderer = default_renderer()
        with unit_of_work(self.factory) as session:
            self.template, self.brand = resolve_specs(session, TEMPLATE)
        self.bodies = {channel: json.loads(request_body(channel)) for channel in MEDIA_TYPES}
        self.data = normalise_numbers(self.bodies["pdf"]["data"])
        self.times: dict[tuple[str, str], list[float]] = {}

    def jobs(self, channel: str) -> dict[str, Callable[[], object]]:
        from ccm.audit.service import Requester
        from ccm.documents.service import DocumentRequest, request_document
        from ccm.rendering.service import resolve_specs

        body = self.bodies[channel]
        locale = body["locale"]

        def render() -> object:
            return self.renderer.render(self.template, self.brand, self.data, locale, channel)

        def service() -> object:
            # What the route does, without HTTP: a transaction around request_document.
            request = DocumentRequest(template=TEMPLATE, customer_id=body["customer_id"],
                                      channel=channel, locale=locale, data=body["data"])
            with self.unit_of_work(self.factory) as session:
                return request_document(session, self.store, request, Requester("bench"),
                                        renderer=self.renderer)

        size = len(self.renderer.render(self.template, self.brand, self.data, locale,
                                        channel).content)

        def store() -> object:
            # The artifact write of a document not stored before (a new file, fsync'd);
            # repeated identical bytes, as in this benchmark, are stored once.
            return self.store.put(os.urandom(16) + bytes(size - 16))

        def lookup() -> object:
            # The template and brand specs from the database, as each request looks them up.
            with self.unit_of_work(self.factory) as session:
                return resolve_specs(session, TEMPLATE)

        return {"render": render, "service": service, "store": store, "lookup": lookup}

    def measure(self, channel: str, documents: int, warmup: int) -> None:
        """Render and service interleaved document by document, so drift hits both alike."""
        jobs = self.jobs(channel)
        for _ in range(warmup):
            for job in jobs.values():
                job()
        for _ in range(documents):
            for name, job in jobs.items():
                start = time.perf_counter()
                job()
                self.times.setdefault((channel, name), []).append(time.perf_counter() - start)

    def summary(self, channel: str, name: str) -> dict[str, Any]:
        values = self.times[(channel, name)]
        return {"requests": len(values), "errors": 0, "concurrency": 1,
                "rps": len(values) / sum(values),
                "p50_s": statistics.median(values), "p99_s": _percentile(values, 0.99)}


def create_key(database_url: str) -> tuple[str, str]:
    """Migrate, load the stock registry and make a billing key; returns its name and key."""
    from ccm.auth.service import create_api_key
    from ccm.db import make_engine, make_session_factory, unit_of_work, upgrade
    from ccm.registry import load_registry
    from ccm.stock import STOCK_DIR

    engine = make_engine(database_url)
    try:
        upgrade(engine)
        with unit_of_work(make_session_factory(engine)) as session:
            load_registry(session, STOCK_DIR)
            row, key = create_api_key(session, f"bench-api-{uuid.uuid4().hex[:8]}",
                                      ["billing"])
            name = row.name
    finally:
        engine.dispose()
    return name, key


def revoke_key(database_url: str, name: str) -> None:
    from ccm.auth.service import revoke_api_key
    from ccm.db import make_engine, make_session_factory, unit_of_work

    engine = make_engine(database_url)
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            revoke_api_key(session, name)
    finally:
        engine.dispose()


# -- the report -----------------------------------------------------------------------------

def _ms(seconds: float) -> str:
    milliseconds = seconds * 1000
    if milliseconds >= 100:
        return f"{milliseconds:.0f} ms"
    if milliseconds >= 10:
        return f"{milliseconds:.1f} ms"
    if milliseconds >= 1:
        return f"{milliseconds:.2f} ms"
    return f"{milliseconds:.3f} ms"


PATHS = {"render": "in-process render (baseline)",
         "service": "in-process `request_document`",
         "serial": "HTTP, one client",
         "loaded": "HTTP, {c} clients"}


def table(rows: list[dict[str, Any]]) -> str:
    lines = ["| document | path | clients | requests | failed | requests/s | p50 latency "
             "| p99 latency | p50 ÷ render | requests/s ÷ (1 / render) |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for row in rows:
        if row["path"] not in PATHS:
            continue
        render = row["render_s"]
        lines.append(
            f"| {LABELS[row['channel']]} | {PATHS[row['path']].format(c=row['concurrency'])} "
            f"| {row['concurrency']} | {row['requests']} | {row['errors']} | {row['rps']:.1f} "
            f"| {_ms(row['p50_s'])} | {_ms(row['p99_s'])} "
            f"| {row['p50_s'] / render:.2f} × | {row['rps'] * render:.2f} × |")
    return "\n".join(lines)


def server_log_findings(log: Path) -> dict[str, int]:
    """Counts of what went wrong in the server, from its log."""
    text = log.read_text(errors="replace") if log.exists() else ""
    return {"unexpected_errors": text.count("unexpected error on "),
            "glib_warnings": sum(1 for line in text.splitlines()
                                 if "GLib-WARNING" in line or "GLib-CRITICAL" in line)}


def failures_note(rows: list[dict[str, Any]], findings: dict[str, int]) -> str:
    failed = [row for row in rows if row["errors"]]
    if not failed and not findings["glib_warnings"]:
        return ""
    parts = [f"{row['errors']} of {row['requests']} {LABELS[row['channel']]} requests "
             f"({PATHS[row['path']].format(c=row['concurrency'])})" for row in failed]
    note = " **Failures:** " + ("; ".join(parts) + " failed (latencies and requests/s count "
                                "only the successful ones)" if parts else "no request failed")
    note += (f"; the server logged {findings['unexpected_errors']} unexpected error(s) and "
             f"{findings['glib_warnings']} GLib warning(s).")
    return note


def where_the_time_goes(rows: list[dict[str, Any]], concurrency: int, database: str) -> str:
    got = {(row["channel"], row["path"]): row for row in rows}

    def p50(channel: str, path: str) -> float:
        return float(got[(channel, path)]["p50_s"])

    sms_http, sms_in_process = p50("sms", "serial"), p50("sms", "service")
    own_work = sms_in_process - p50("sms", "render")
    lookup = p50("sms", "lookup")
    http_part = sms_http - sms_in_process
    http_note = (f"HTTP, authentication and JSON parsing add {_ms(http_part)}"
                 if http_part > 0.1 * sms_http else
                 f"HTTP, authentication and JSON parsing add too little to tell apart from "
                 f"the noise (a lone HTTP request {_ms(sms_http)}, the same call in process "
                 f"{_ms(sms_in_process)})")
    pdf, html, sms = (got[(channel, "loaded")] for channel in ("pdf", "html", "sms"))
    pdf_render = p50("pdf", "render")
    stores = [p50(channel, "store") for channel in ("sms", "pdf")]
    share = pdf_render / p50("pdf", "serial")
    pdf_share = f"{share:.0%}" if share < 0.9 else "nearly all (within this run's noise)"
    return (
        f"Where the time goes ({os.cpu_count()} cores, {database}, load generator on the "
        f"same machine). Every request has a fixed cost of about {_ms(sms_http)}, measured "
        f"with the SMS channel, which renders in {_ms(p50('sms', 'render'))}: the document "
        f"service's own work is {_ms(own_work)}, of which {_ms(lookup)} is looking up the "
        f"template and brand (one query for the registry's revision, the specs cached) "
        f"and "
        f"{_ms(max(0.0, own_work - lookup))} checking the data, recording the "
        f"communication and committing; {http_note}. Identical bytes are stored once, so "
        f"the artifact write drops out after the first request; a document not stored "
        f"before adds {_ms(min(stores))} to {_ms(max(stores))} (a new file, "
        f"synced to disk). For HTML the render is "
        f"{p50('html', 'render') / p50('html', 'serial'):.0%} of a lone request's latency, "
        f"so the fixed cost sets the throughput: {html['rps']:.0f} requests/s with "
        f"{concurrency} clients ({sms['rps']:.0f}/s for SMS). For PDF the render is "
        f"{pdf_share} of a lone request's latency ({_ms(pdf_render)} of "
        f"{_ms(p50('pdf', 'serial'))}). "
        f"The server renders PDFs in worker processes, one per core ({os.cpu_count()} "
        f"here; WeasyPrint is mostly pure Python and would run one at a time under the GIL "
        f"in threads): with {concurrency} clients it completes {pdf['rps']:.1f} PDFs/s "
        f"({pdf['rps'] * pdf_render:.2f} × one render after another, 1 / "
        f"{_ms(pdf_render)}), and the median client waits {pdf['p50_s'] / pdf_render:.1f} "
        f"renders' time ({_ms(pdf['p50_s'])}; {concurrency} clients shared by "
        f"{os.cpu_count()} renderers wait about {concurrency / (os.cpu_count() or 1):.0f}). "
        f"HTML, email and SMS render in the request threads: a trip to a worker would cost "
        f"more than their render."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a fifth of the requests")
    parser.add_argument("--concurrency", type=int, default=8,
                        help="concurrent clients under load (default 8)")
    parser.add_argument("--database-url",
                        help="a database to use instead of a throwaway SQLite file (it is "
                             "migrated, the stock registry loaded, a key made and revoked; "
                             "the benchmark's communications stay in it)")
    parser.add_argument("--json", type=Path, help="also write the results as JSON")
    parser.add_argument("--load", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.load:
        print(json.dumps(generate_load(json.loads(sys.stdin.read()))))
        return
    pick = 1 if args.quick else 0
    folder = Path(tempfile.mkdtemp(prefix="ccm-bench-api-"))
    database_url = args.database_url or f"sqlite:///{folder}/bench.db"
    database = "PostgreSQL" if database_url.startswith("postgres") else \
        "SQLite" if database_url.startswith("sqlite") else database_url.split(":")[0]
    server: subprocess.Popen[bytes] | None = None
    findings: dict[str, int] = {}
    key_name: str | None = None
    rows: list[dict[str, Any]] = []
    try:
        key_name, key = create_key(database_url)
        local = InProcess(database_url, folder)
        halves = {channel: counts[pick] // 2 for channel, counts in IN_PROCESS.items()}
        server, port, _ = start_server(database_url, folder)
        measured: dict[tuple[str, str], dict[str, Any]] = {}
        for channel, accept in MEDIA_TYPES.items():
            # The baselines just before and just after their channel's load (the server
            # idle meanwhile), so that drift in machine speed hits them and it alike.
            local.measure(channel, halves[channel], warmup=2 if channel == "pdf" else 20)
            job = {"port": port, "key": key, "body": request_body(channel), "accept": accept}
            warmup = 3 if channel == "pdf" else 20
            measured[(channel, "serial")] = run_load(
                {**job, "concurrency": 1, "requests": SERIAL[channel][pick],
                 "warmup": warmup})
            measured[(channel, "loaded")] = run_load(
                {**job, "concurrency": args.concurrency, "requests": LOADED[channel][pick],
                 "warmup": 0 if channel == "pdf" else 5})
            local.measure(channel, halves[channel], warmup=1)
            print(f"measured {channel}", file=sys.stderr)
        stop_server(server)
        server = None
        findings = server_log_findings(folder / "server.log")
        local.engine.dispose()
        for channel in MEDIA_TYPES:
            render = local.summary(channel, "render")
            for path in ("render", "service", "serial", "loaded", "store", "lookup"):
                row = local.summary(channel, path) \
                    if path in ("render", "service", "store", "lookup") \
                    else measured[(channel, path)]
                rows.append({**row, "channel": channel, "path": path,
                             "render_s": render["p50_s"]})
    except Exception:
        log = folder / "server.log"
        if log.exists():
            print("server log (last lines):\n" + "\n".join(
                log.read_text(errors="replace").splitlines()[-40:]), file=sys.stderr)
        raise
    finally:
        if server is not None:
            stop_server(server)
        if key_name is not None and args.database_url:
            revoke_key(database_url, key_name)
        shutil.rmtree(folder, ignore_errors=True)
    print(table(rows))
    print()
    print(where_the_time_goes(rows, args.concurrency, database) + failures_note(rows, findings))
    if args.json:
        args.json.write_text(json.dumps({"concurrency": args.concurrency, "database": database,
                                         "cores": os.cpu_count(), "server_log": findings,
                                         "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
