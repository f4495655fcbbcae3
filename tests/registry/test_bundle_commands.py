"""``ccm registry export`` and ``ccm registry import``, as the `ccm registry` group will
run them: real database files and folders."""

from __future__ import annotations

from pathlib import Path

import typer
from typer.testing import CliRunner

from ccm.registry.cli import registry_export, registry_import
from ccm.stock import STOCK_DIR

runner = CliRunner()


def said(output: str) -> str:
    """The output as one line (the console wraps long messages)."""
    return " ".join(output.split())

app = typer.Typer()
app.command("export")(registry_export)
app.command("import")(registry_import)


def test_import_export_and_import_again(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'cli.db'}"
    loaded = runner.invoke(app, ["import", str(STOCK_DIR), "--database-url", database])
    assert loaded.exit_code == 0, loaded.output
    assert "utility-bill" in loaded.output and "published" in loaded.output

    bundle = tmp_path / "bundle"
    exported = runner.invoke(app, ["export", str(bundle), "--database-url", database])
    assert exported.exit_code == 0, exported.output
    assert "exported" in exported.output and (bundle / "registry.yaml").is_file()

    again = runner.invoke(app, ["import", str(bundle), "--database-url", database])
    assert again.exit_code == 0, again.output
    assert "published" not in again.output and "unchanged" in again.output

    refused = runner.invoke(app, ["export", str(bundle), "--database-url", database])
    assert refused.exit_code == 2
    assert "is not empty" in said(refused.output) and "--force" in said(refused.output)
    forced = runner.invoke(app, ["export", str(bundle), "--force", "--database-url", database])
    assert forced.exit_code == 0, forced.output


def test_importing_what_is_not_a_folder_fails_clearly(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'cli.db'}"
    result = runner.invoke(app, ["import", str(tmp_path / "missing"), "--database-url",
                                 database])
    assert result.exit_code == 2
    assert "registry_invalid" in result.output and "is not a folder" in said(result.output)
