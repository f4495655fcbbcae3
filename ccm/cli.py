"""The `ccm` command: a thin shell over the same services the API and workers use."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlalchemy.orm import Session

from ccm.config import Settings, get_settings
from ccm.db import make_engine, make_session_factory, unit_of_work, upgrade
from ccm.errors import CCMError, DataValidationError

app = typer.Typer(help="ccm — customer communications: brands, templates, documents.",
                  no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
registry_app = typer.Typer(help="Brands, layouts, blocks and templates.", no_args_is_help=True)
apikey_app = typer.Typer(help="API keys and their roles.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(registry_app, name="registry")
app.add_typer(apikey_app, name="apikey")
journey_app = typer.Typer(help="Customer journeys.", no_args_is_help=True)
app.add_typer(journey_app, name="journey")

console = Console()
errors = Console(stderr=True)


def _fail(exc: CCMError) -> None:
    errors.print(f"[bold red]error[/] {escape(f'[{exc.code}] {exc.detail}')}", highlight=False)
    if isinstance(exc, DataValidationError):
        for violation in exc.violations:
            errors.print(f"  {violation}", markup=False, highlight=False)
    raise typer.Exit(code=2)


@contextmanager
def _session(database_url: str | None, *, migrate: bool = True) -> Iterator[Session]:
    engine = make_engine(database_url or get_settings().database_url)
    try:
        if migrate:
            upgrade(engine)
        with unit_of_work(make_session_factory(engine)) as session:
            yield session
    except CCMError as exc:
        _fail(exc)
    finally:
        engine.dispose()


DatabaseOption = Annotated[
    str | None, typer.Option("--database-url", help="Overrides CCM_DATABASE_URL.")
]


@db_app.command("upgrade")
def db_upgrade(database_url: DatabaseOption = None) -> None:
    """Create or migrate the schema to the latest revision."""
    url = database_url or get_settings().database_url
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    console.print(f"database at {engine.url.render_as_string(hide_password=True)} is up to date")


@registry_app.command("load")
def registry_load(
    directory: Annotated[Path, typer.Argument(help="Folder of brands/, layouts/, blocks/, "
                                                   "templates/.")],
    draft: Annotated[bool, typer.Option("--draft", help="Leave new versions as drafts.")] = False,
    database_url: DatabaseOption = None,
) -> None:
    """Load brands, layouts, blocks and templates from a folder of plain files."""
    from ccm.registry import load_registry

    with _session(database_url) as session:
        report = load_registry(session, directory, publish=not draft)
    table = Table("entry", "key", "version", "result")
    for kind, key, version in report.created:
        table.add_row(kind, key, str(version), "draft" if draft else "published")
    for kind, key, version in report.unchanged:
        table.add_row(kind, key, str(version), "unchanged")
    console.print(table)


def _register_bundle_commands() -> None:
    from ccm.registry.cli import registry_export, registry_import

    registry_app.command("export")(registry_export)
    registry_app.command("import")(registry_import)


_register_bundle_commands()


def _register_i18n_commands() -> None:
    from ccm.i18n.cli import i18n_app

    app.add_typer(i18n_app, name="i18n")


_register_i18n_commands()


@app.command()
def render(
    template: Annotated[str, typer.Argument(help="Template key.")],
    data: Annotated[Path, typer.Option("--data", "-d", help="Data file, JSON or XML.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Where to write the document.")],
    channel: Annotated[str, typer.Option("--channel", "-c", help="pdf, html, email or sms.")] =
    "pdf",
    locale: Annotated[str | None, typer.Option("--locale", "-l")] = None,
    version: Annotated[int | None, typer.Option("--version", help="Default: latest published.")]
    = None,
    database_url: DatabaseOption = None,
) -> None:
    """Render one document from a data file."""
    from ccm.inputs import load_data
    from ccm.rendering.engine import default_renderer
    from ccm.rendering.service import resolve_specs

    if not data.is_file():
        errors.print(f"[bold red]error[/] data file {data} does not exist")
        raise typer.Exit(code=2)
    with _session(database_url) as session:
        spec, brand = resolve_specs(session, template, version)
        fmt: Literal["xml"] | None = "xml" if data.suffix.lower() == ".xml" else None
        payload = load_data(data.read_bytes(), fmt=fmt, schema=spec.data_schema,
                            max_bytes=get_settings().data_max_bytes)
        document = default_renderer().render(spec, brand, payload, locale, channel)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_bytes(document.content)
    if document.text is not None:
        output.with_suffix(".txt").write_text(document.text, encoding="utf-8")
    for warning in document.warnings:
        errors.print(f"[yellow]warning[/] {warning}", highlight=False)
    console.print(_summary(document, output))


def _summary(document: object, path: Path) -> str:
    from ccm.rendering.spec import RenderedDocument

    assert isinstance(document, RenderedDocument)
    extra = (f", {document.page_count} page(s)" if document.page_count else "") + (
        f", {document.sms_segments} segment(s) {document.sms_encoding}"
        if document.sms_segments is not None else "")
    return (f"wrote {path} ({document.media_type}, {document.size:,} bytes{extra}) "
            f"{document.template_key} v{document.template_version}, sha256 "
            f"{document.sha256[:16]}…")


@app.command()
def demo(
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Output folder.")] = None,
    database_url: DatabaseOption = None,
) -> None:
    """Load the stock content and render bills, letters and promotions for sample customers."""
    from ccm.demo import run_demo

    settings = get_settings()
    folder = output or settings.demo_output_dir
    with _session(database_url) as session:
        report, written = run_demo(session, folder)
    table = Table(title=f"ccm demo: {len(written)} documents in {folder}/")
    # Detail gives way first on a narrow terminal; the rest never wraps or truncates.
    table.add_column("file", no_wrap=True, min_width=34)
    table.add_column("locale", no_wrap=True, min_width=6)
    table.add_column("v", no_wrap=True, min_width=2)
    table.add_column("bytes", justify="right", no_wrap=True, min_width=6)
    table.add_column("detail", no_wrap=True)
    # Rich measures no-wrap columns generously; cut the detail to what the terminal has.
    room = max(12, console.width - 63)
    for item in written:
        doc = item.document
        detail = (f"{doc.page_count} page(s)" if doc.page_count else
                  f"{doc.sms_segments} segment(s) {doc.sms_encoding}" if doc.sms_segments else
                  (doc.subject or doc.title or ""))
        detail = detail if len(detail) <= room else detail[:room - 1] + "…"
        table.add_row(str(item.path.relative_to(folder)), item.locale,
                      str(item.template_version), f"{doc.size:,}", detail)
    console.print(table)
    loaded = len(report.created)
    console.print(f"registry: {loaded} new version(s), {len(report.unchanged)} unchanged")
    warnings = [w for item in written for w in item.document.warnings]
    for warning in sorted(set(warnings)):
        errors.print(f"[yellow]warning[/] {warning}", highlight=False)
    _demo_journeys(settings.model_copy(
        update={"database_url": database_url or settings.database_url}), folder)
    console.print("studio: ccm apikey create --name ana --role marketing, then ccm serve and "
                  "sign in at http://127.0.0.1:8000/studio")


def _demo_journeys(settings: Settings, folder: Path) -> None:
    """The stock journey for the demo customers, delivered to local sinks in ``folder``."""
    from ccm.artifacts import artifact_store_from_settings
    from ccm.demo_journeys import JOURNEY, run_journey_demo
    from ccm.journeys.views import format_simulation

    engine = make_engine(settings.database_url)
    try:
        report = run_journey_demo(make_session_factory(engine),
                                  artifact_store_from_settings(settings), settings, folder)
    except CCMError as exc:
        _fail(exc)
    finally:
        engine.dispose()
    for block in format_simulation({"journey": JOURNEY, "version": 1, "status": "published",
                                    "customers": report.paths})[1:]:
        console.print(block)
    where = report.folder
    if report.already_run:
        console.print(f"journeys: every demo event was handled by an earlier run; nothing "
                      f"was sent again (deliveries are in {where}/)")
    else:
        counts = report.delivered
        console.print(f"journeys: delivered {counts['email']} email(s) to the SMTP capture "
                      f"({where}/mail), {counts['sms']} SMS to the provider sink "
                      f"({where}/sms), {counts['print']} letter(s) to the print spool "
                      f"({where}/print); try: ccm journey simulate {JOURNEY} --events "
                      f"{where}/events.jsonl")


@apikey_app.command("create")
def apikey_create(
    name: Annotated[str, typer.Option("--name", help="Who the key is for; recorded on what "
                                                     "it makes.")],
    role: Annotated[list[str], typer.Option("--role", help="billing, marketing, auditor or "
                                                           "admin; repeat for several.")],
    database_url: DatabaseOption = None,
) -> None:
    """Create an API key. The key is printed once, alone on standard output."""
    from ccm.auth.service import create_api_key

    with _session(database_url) as session:
        row, key = create_api_key(session, name, role)
    errors.print(f"API key {row.name!r} with role(s) {', '.join(row.roles)}; it is shown "
                 "only now: keep it safe.", highlight=False)
    print(key)


@apikey_app.command("list")
def apikey_list(database_url: DatabaseOption = None) -> None:
    """List API keys (their names, prefixes and roles; never the keys)."""
    from ccm.auth.service import list_api_keys

    with _session(database_url) as session:
        rows = list_api_keys(session)
        table = Table("name", "prefix", "roles", "created", "revoked")
        for row in rows:
            table.add_row(row.name, row.prefix + "…", ", ".join(row.roles),
                          row.created_at.strftime("%Y-%m-%d %H:%M"),
                          row.revoked_at.strftime("%Y-%m-%d %H:%M") if row.revoked_at else "")
    console.print(table)


@apikey_app.command("revoke")
def apikey_revoke(
    name: Annotated[str, typer.Argument(help="The key's name.")],
    database_url: DatabaseOption = None,
) -> None:
    """Revoke an API key: it stops working at once."""
    from ccm.auth.service import revoke_api_key

    with _session(database_url) as session:
        revoke_api_key(session, name)
    console.print(f"API key {name!r} revoked")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    batch_workers: Annotated[
        int | None, typer.Option(help="Batch worker processes (default: CCM_BATCH_WORKERS, "
                                      "else one per core).")] = None,
    no_batches: Annotated[bool, typer.Option("--no-batches", help="Do not render batches "
                                             "in this process.")] = False,
    no_worker: Annotated[bool, typer.Option("--no-worker", help="Do not deliver sends in "
                                            "this process (run `ccm worker` instead).")]
    = False,
    database_url: DatabaseOption = None,
) -> None:
    """Serve the HTTP API (docs at /docs), with the batch runner and the delivery worker
    in-process."""
    import uvicorn

    from ccm.api import create_app

    overrides: dict[str, object] = {}
    if database_url:
        overrides["database_url"] = database_url
    if batch_workers is not None:
        overrides["batch_workers"] = batch_workers
    settings = get_settings().model_copy(update=overrides)
    engine = make_engine(settings.database_url)
    upgrade(engine)
    engine.dispose()
    api = create_app(settings, run_batches=not no_batches, run_worker=not no_worker)
    base = f"http://{host}:{port}"
    errors.print(f"ccm API on {base}/v1 — docs at {base}/docs — studio at {base}/studio",
                 highlight=False)
    uvicorn.run(api, host=host, port=port, log_level="info", timeout_graceful_shutdown=30)


@app.command()
def worker(
    once: Annotated[bool, typer.Option("--once", help="Work until nothing is due, then "
                                                       "stop.")] = False,
    database_url: DatabaseOption = None,
) -> None:
    """Fire due follow-ups and deliver due sends (email, SMS, print) until stopped."""
    import signal

    from ccm.artifacts import artifact_store_from_settings
    from ccm.delivery.worker import DeliveryWorker

    settings = get_settings()
    if database_url:
        settings = settings.model_copy(update={"database_url": database_url})
    engine = make_engine(settings.database_url)
    upgrade(engine)
    delivery = DeliveryWorker(make_session_factory(engine), artifact_store_from_settings(settings),
                              settings)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: delivery.request_stop())
    errors.print(f"ccm worker: delivering from {engine.url.render_as_string()}",
                 highlight=False)
    try:
        if once:
            reports = delivery.run_until_idle()
            totals: dict[str, int] = {}
            for report in reports:
                for status, count in report.outcomes.items():
                    totals[status] = totals.get(status, 0) + count
            summary = ", ".join(f"{count} {status}" for status, count in sorted(totals.items()))
            console.print(f"worker: {summary or 'nothing was due'}")
        else:
            delivery.run()
    finally:
        engine.dispose()


@journey_app.command("simulate")
def journey_simulate(
    journey: Annotated[str, typer.Argument(help="Journey key.")],
    events: Annotated[Path, typer.Option("--events", "-e", help="JSON Lines: one event per "
                                         "line, optionally customer lines.")],
    version: Annotated[int | None, typer.Option("--version", help="Default: the latest "
                                                "version, drafts included.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    database_url: DatabaseOption = None,
) -> None:
    """Show each customer's path through the stages and the sends it would make, on which
    channel and why — without delivering anything (nothing is kept)."""
    import json

    from ccm.journeys.simulation import read_events_file, simulate

    if not events.is_file():
        errors.print(f"[bold red]error[/] events file {events} does not exist")
        raise typer.Exit(code=2)
    settings = get_settings()
    engine = make_engine(database_url or settings.database_url)
    try:
        upgrade(engine)
        session = make_session_factory(engine)()
        try:
            given = read_events_file(events.read_text(encoding="utf-8").splitlines())
            result = simulate(session, journey, given, settings, version=version)
        finally:
            session.rollback()  # a simulation keeps nothing
            session.close()
    except CCMError as exc:
        _fail(exc)
    finally:
        engine.dispose()
    if as_json:
        print(json.dumps(result, indent=2, ensure_ascii=False))
        return
    _print_simulation(result)


def _print_simulation(result: dict[str, object]) -> None:
    from ccm.journeys.views import format_simulation

    for block in format_simulation(result):
        console.print(block)


def main() -> None:  # pragma: no cover - console entry for `python -m ccm`
    app(prog_name="ccm")


if __name__ == "__main__":  # pragma: no cover
    main()
