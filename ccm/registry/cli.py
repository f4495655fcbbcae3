"""``ccm registry export DIR`` and ``ccm registry import DIR``: the registry as a bundle,
a folder of plain files that can live in git.

Registered on the ``ccm registry`` group of :mod:`ccm.cli`::

    registry_app.command("export")(registry_export)
    registry_app.command("import")(registry_import)
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from ccm.registry.loader import LoadReport

DatabaseOption = Annotated[
    str | None, typer.Option("--database-url", help="Overrides CCM_DATABASE_URL.")
]


def registry_export(
    directory: Annotated[Path, typer.Argument(help="Folder to write (new or empty).")],
    force: Annotated[bool, typer.Option(
        "--force", help="Replace the registry files of a folder that has files in it "
                        "(its other files, such as .git, are kept).")] = False,
    database_url: DatabaseOption = None,
) -> None:
    """Write the live registry (latest published versions) as a folder of plain files."""
    from ccm.cli import _session, console
    from ccm.registry.export import export_registry

    with _session(database_url) as session:
        report = export_registry(session, directory, force=force)
    table = Table("entry", "key", "version", "result")
    for kind, key, version in report.written:
        table.add_row(kind, key, str(version), "exported")
    for kind, key, why in report.skipped:
        table.add_row(kind, key, "", f"left out: {why}")
    console.print(table)
    for warning in report.warnings:
        console.print(f"[yellow]warning[/] {escape(warning)}", highlight=False)
    console.print(f"registry exported to {report.root}: {len(report.written)} entries, "
                  f"{len(report.skipped)} left out", highlight=False)


def registry_import(
    directory: Annotated[Path, typer.Argument(help="Folder written by `ccm registry export` "
                                                   "(or by hand, in the same layout).")],
    database_url: DatabaseOption = None,
) -> None:
    """Load a bundle into the registry, publishing what changed (it was reviewed in git)."""
    from ccm.cli import _session, console
    from ccm.registry.loader import load_registry

    with _session(database_url) as session:
        report = load_registry(session, directory, publish=True)
    console.print(load_table(report))


def load_table(report: LoadReport) -> Table:
    """A load's report as a table: what was created (published) and what was unchanged."""
    table = Table("entry", "key", "version", "result")
    for kind, key, version in report.created:
        table.add_row(kind, key, str(version), "published")
    for kind, key, version in report.unchanged:
        table.add_row(kind, key, str(version), "unchanged")
    return table
