"""Sub-brands in a registry folder: ``parent:`` in brand.yaml, parents loaded first,
idempotent loads, and what an export cannot write back exactly."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy.orm import Session

from ccm.brand.service import get_brand, list_brand_versions, parent_brand
from ccm.errors import RegistryError, TemplateSyntaxError
from ccm.registry import export_catalogs, load_registry
from ccm.registry.export import export_registry
from ccm.registry.loader import _read_catalogs
from ccm.stock import STOCK_DIR
from ccm.templates.models import TemplateKind
from ccm.templates.service import TemplateContent, add_template_version, ensure_template

NORTHWIND = STOCK_DIR / "brands" / "northwind"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def write_brand(root: Path, key: str, spec: dict[str, Any], *files: Path) -> Path:
    folder = root / "brands" / key
    folder.mkdir(parents=True, exist_ok=True)
    for path in files:
        shutil.copy(path, folder / path.name)
    (folder / "brand.yaml").write_text(yaml.safe_dump(spec, allow_unicode=True))
    return folder


def stock_spec() -> dict[str, Any]:
    spec: dict[str, Any] = yaml.safe_load((NORTHWIND / "brand.yaml").read_text())
    return spec


def family(tmp_path: Path) -> tuple[Path, str, str, str]:
    """A folder with a parent, a sub-brand whose key sorts before it and a sub-sub-brand."""
    root = tmp_path / "registry"
    parent, child, grandchild = unique("z-parent"), unique("a-child"), unique("a-grand")
    write_brand(root, parent, stock_spec(), NORTHWIND / "logo.svg", NORTHWIND / "logo.png")
    write_brand(root, child, {"name": "Child", "parent": parent, "tokens": {
        "company_name": "Child GmbH", "palette": {"accent": "#123456"},
        "logo": {"svg": "logo.svg", "png": "logo.png", "width_mm": 30}}},
        NORTHWIND / "logo.svg", NORTHWIND / "logo.png")
    write_brand(root, grandchild, {"name": "Grandchild", "parent": child})
    return root, parent, child, grandchild


def test_parents_load_before_their_sub_brands_and_a_second_load_changes_nothing(
        session: Session, tmp_path: Path) -> None:
    root, parent, child, grandchild = family(tmp_path)
    report = load_registry(session, root)
    assert [key for kind, key, _ in report.created if kind == "brand"] == [
        parent, child, grandchild]
    brand = get_brand(session, child)
    assert parent_brand(session, brand) is get_brand(session, parent)
    row = list_brand_versions(session, grandchild)[-1]
    assert row.overrides == {} and row.tokens["company_name"] == "Child GmbH"
    assert row.tokens["palette"]["accent"] == "#123456"
    assert row.tokens["logo"]["width_mm"] == 30

    again = load_registry(session, root)
    assert again.created == []
    assert {(kind, key) for kind, key, _ in again.unchanged} >= {
        ("brand", parent), ("brand", child), ("brand", grandchild)}


def test_a_changed_parent_gives_its_sub_brands_new_versions(session: Session,
                                                            tmp_path: Path) -> None:
    root, parent, child, grandchild = family(tmp_path)
    load_registry(session, root)
    spec = stock_spec()
    spec["tokens"]["currency"] = "GBP"
    write_brand(root, parent, spec)
    report = load_registry(session, root)
    assert sorted(key for _, key, _ in report.created) == sorted([parent, child, grandchild])
    assert list_brand_versions(session, grandchild)[-1].tokens["currency"] == "GBP"
    assert list_brand_versions(session, child)[0].tokens["currency"] == "EUR"  # frozen
    assert load_registry(session, root).created == []


def test_brands_naming_each_other_as_parents_are_refused(session: Session,
                                                         tmp_path: Path) -> None:
    root = tmp_path / "registry"
    one, two = unique("one"), unique("two")
    write_brand(root, one, {"name": "One", "parent": two})
    write_brand(root, two, {"name": "Two", "parent": one})
    with pytest.raises(RegistryError, match="name each other as parents") as caught:
        load_registry(session, root)
    assert f"{one} → {two} → {one}" in caught.value.detail


def test_a_parent_must_be_in_the_folder_or_the_registry(session: Session,
                                                        tmp_path: Path) -> None:
    root = tmp_path / "registry"
    write_brand(root, unique("lost"), {"name": "Lost", "parent": "nowhere-energy"})
    with pytest.raises(RegistryError, match="'nowhere-energy', which is not in the registry"):
        load_registry(session, root)
    root = tmp_path / "other"
    key = unique("stock-child")
    write_brand(root, key, {"name": "Stock child", "parent": "northwind",
                            "tokens": {"sms_sender_id": "NWChild"}})
    assert [k for _, k, _ in load_registry(session, root).created] == [key]


def test_sub_brand_overrides_in_a_folder_are_checked_with_their_paths(
        session: Session, tmp_path: Path) -> None:
    root = tmp_path / "registry"
    write_brand(root, unique("half"), {"name": "Half", "parent": "northwind",
                                       "tokens": {"logo": {"svg": "logo.svg"}}},
                NORTHWIND / "logo.svg")
    with pytest.raises(RegistryError, match="logo/png"):
        load_registry(session, root)


def test_what_cannot_be_written_back_exactly_is_reported(session: Session,
                                                         tmp_path: Path) -> None:
    template = ensure_template(session, unique("lossy"), TemplateKind.NOTICE, "northwind")
    add_template_version(session, template, TemplateContent(
        journey_key="utility-customer", stage_key="overdue", bodies={"sms": "Hi"},
        data_schema={"type": "object"},
        translations={"de": {"Hello": "", "%(n)s day": ["%(n)s Tag"], "Bye": ["", ""]},
                      "de-AT": {"Hi": "Servus"}}), published=True)
    report = export_registry(session, tmp_path / "bundle")
    mine = [w for w in report.warnings if template.key in w]
    assert any("'Hello' has no text" in w for w in mine), mine
    assert any("de.po: 'Bye' has no text" in w for w in mine), mine
    assert any("'%(n)s day' has 1 plural form(s); the catalog holds 2" in w for w in mine)
    assert any("de-AT.po: the loader reads the locale from the file name and does not read "
               "'de-AT'" in w for w in mine), mine
    austrian = tmp_path / "bundle" / "templates" / template.key / "locales" / "de-AT.po"
    assert '"Language: de_AT\\n"' in austrian.read_text()


def test_a_template_whose_messages_cannot_be_extracted_still_exports_them(
        session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    template = ensure_template(session, unique("unparsed"), TemplateKind.NOTICE, "northwind")
    add_template_version(session, template, TemplateContent(
        journey_key="utility-customer", stage_key="overdue",
        bodies={"sms": "{% trans %}Hi{% endtrans %}"}, data_schema={"type": "object"},
        translations={"de": {"Hi": "Hallo"}}), published=True)

    def broken(*_args: Any) -> None:
        raise TemplateSyntaxError("sms, line 1: unexpected end of template")

    monkeypatch.setattr(export_catalogs, "extract_messages", broken)
    report = export_registry(session, tmp_path / "bundle")
    assert [w for w in report.warnings if template.key in w] == [
        f"templates/{template.key}: no messages could be extracted (sms, line 1: unexpected "
        "end of template): its catalogs hold the stored translations only, without locations"]
    folder = tmp_path / "bundle" / "templates" / template.key
    assert (folder / "locales" / "de.po").read_text().endswith('\n\nmsgid "Hi"\n'
                                                              'msgstr "Hallo"\n')
    assert _read_catalogs(folder) == {"de": {"Hi": "Hallo"}}
