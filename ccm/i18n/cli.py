"""``ccm i18n``: extract messages into catalogs, compile them, report what is missing.

Heavy modules (the renderer, the database) are imported inside the commands, so loading
the CLI stays quick; ``ccm.cli`` is imported there too, never at module level, because
``ccm.cli`` imports this module.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ccm.errors import CCMError

if TYPE_CHECKING:
    from ccm.i18n.report import TranslationReport

i18n_app = typer.Typer(help="Translations: gettext catalogs of the templates.",
                       no_args_is_help=True)

console = Console()
errors = Console(stderr=True)

RegistryDir = Annotated[Path, typer.Argument(
    help="A registry folder laid out like ccm/stock (templates/<key>/locales/).")]


def _fail(exc: CCMError) -> None:
    errors.print(f"[bold red]error[/] {escape(f'[{exc.code}] {exc.detail}')}", highlight=False)
    raise typer.Exit(code=2)


@i18n_app.command("extract")
def extract(
    directory: RegistryDir,
    locale: Annotated[list[str] | None, typer.Option(
        "--locale", "-l", help="Also create this locale's catalog where a template has none "
                               "(repeatable).")] = None,
) -> None:
    """Write each template's messages.pot and bring its <locale>.po catalogs up to date."""
    from ccm.i18n.folder import extract_registry
    from ccm.i18n.report import check_locales

    try:
        results = extract_registry(directory, check_locales(locale or []))
    except CCMError as exc:
        _fail(exc)
        return
    table = Table("template", "catalog", "translated", "fuzzy", "obsolete", "file")
    for result in results:
        stats = result.stats
        counts = ([f"{stats.messages} messages", "", ""] if result.locale is None else
                  [f"{stats.translated}/{stats.messages}", str(stats.fuzzy),
                   str(stats.obsolete)])
        table.add_row(result.template, result.path.name, *counts, result.action)
    console.print(table)


@i18n_app.command("compile")
def compile_catalogs(directory: RegistryDir) -> None:
    """Check every <locale>.po and write its .mo beside it; any problem writes nothing."""
    from ccm.i18n.folder import compile_registry

    try:
        result = compile_registry(directory)
    except CCMError as exc:
        _fail(exc)
        return
    for problem in result.problems:
        errors.print(str(problem), markup=False, highlight=False, soft_wrap=True)
    if not result.ok:
        errors.print(f"[bold red]error[/] {len(result.problems)} problem(s) in the catalogs; "
                     "no .mo file written", highlight=False)
        raise typer.Exit(code=1)
    for path in result.written:
        stats = result.stats[path.with_suffix(".po")]
        console.print(f"{escape(str(path))}: {stats.translated} of {stats.messages} "
                      "translated", highlight=False)


@i18n_app.command("report")
def report(
    database_url: Annotated[str | None, typer.Option(
        "--database-url", help="Overrides CCM_DATABASE_URL.")] = None,
    template: Annotated[str | None, typer.Option(
        "--template", "-t", help="Only this template's latest published version.")] = None,
    locale: Annotated[list[str] | None, typer.Option(
        "--locale", "-l", help="Also report this locale, catalog or not (repeatable).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    strict: Annotated[bool, typer.Option(
        "--strict", help="Exit with status 1 if any translation is missing.")] = False,
) -> None:
    """Untranslated messages of every template's latest published version, per locale."""
    from ccm.cli import _session
    from ccm.i18n.report import registry_report, report_json

    with _session(database_url) as session:
        reports = registry_report(session, locale or [], template)
    if as_json:
        print(json.dumps([report_json(r) for r in reports], indent=2, ensure_ascii=False))
    else:
        _print_reports(reports)
    if strict and not all(r.complete for r in reports):
        raise typer.Exit(code=1)


def _print_reports(reports: list[TranslationReport]) -> None:
    table = Table("template", "version", "locale", "catalogs", "translated", "missing")
    for result in reports:
        for coverage in result.locales:
            table.add_row(result.template, str(result.version), coverage.locale,
                          " → ".join(coverage.catalog_chain) or "(none)",
                          f"{coverage.translated}/{result.messages}", str(len(coverage.missing)))
    console.print(table)
    for result in reports:
        for coverage in result.locales:
            if coverage.missing:
                console.print(f"{escape(result.template)} v{result.version} "
                              f"{escape(coverage.locale)}: missing", highlight=False)
            for message in coverage.missing:
                console.print(f"  {escape(message.part)}:{message.line}  "
                              f"{escape(message.msgid)}", highlight=False)
