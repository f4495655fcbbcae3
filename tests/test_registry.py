"""Brand and template registry: versions, immutability, shared blocks, validation."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session
from support import pdf_text, publish_reviewed

from ccm.brand.service import (
    add_brand_version,
    get_brand,
    published_brand_version,
    update_brand_draft,
)
from ccm.brand.stylesheet import brand_css
from ccm.brand.tokens import BrandTokens
from ccm.errors import ImmutableVersionError, NotFoundError, RegistryError
from ccm.registry import load_registry
from ccm.rendering.service import render_document
from ccm.stock import STOCK_DIR
from ccm.stock.customers import SAMPLE_CUSTOMERS, bill_data
from ccm.templates.models import BlockKind
from ccm.templates.service import (
    TemplateContent,
    add_block_version,
    add_template_version,
    ensure_block,
    get_template,
    get_template_version,
    update_template_draft,
)
from ccm.versioning import VersionStatus


def content_of(session: Session, key: str, **changes: Any) -> TemplateContent:
    return TemplateContent.of(get_template_version(session, key), **changes)


def test_loading_the_same_folder_twice_changes_nothing(session: Session) -> None:
    report = load_registry(session, STOCK_DIR)
    assert report.created == []
    assert ("template", "utility-bill", 1) in report.unchanged
    assert ("brand", "northwind", 1) in report.unchanged


def test_published_template_versions_are_immutable(session: Session) -> None:
    published = get_template_version(session, "utility-bill")
    with pytest.raises(ImmutableVersionError, match="published"):
        update_template_draft(session, published, content_of(session, "utility-bill"))


def test_drafts_are_editable_but_only_published_versions_are_served(session: Session) -> None:
    template = get_template(session, "utility-bill")
    changed = content_of(session, "utility-bill",
                         sms_max_segments=1, bodies={"sms": "Bill {{ invoice_number }}"})
    draft = add_template_version(session, template, changed)
    assert draft.status is VersionStatus.DRAFT and draft.version == 2
    assert get_template_version(session, "utility-bill").version == 1
    with pytest.raises(NotFoundError, match="draft"):
        get_template_version(session, "utility-bill", 2)
    update_template_draft(session, draft, content_of(
        session, "utility-bill", bodies={"sms": "Your bill {{ invoice_number }}"}))
    publish_reviewed(session, draft)
    latest = get_template_version(session, "utility-bill")
    assert latest.version == 2 and latest.published_at is not None
    document = render_document(session, "utility-bill", bill_data(SAMPLE_CUSTOMERS[0]), "sms")
    assert document.content.decode().startswith("Your bill NW-2026-")
    assert document.template_version == 2


def test_published_brand_versions_are_immutable(session: Session) -> None:
    version = published_brand_version(session, "northwind")
    with pytest.raises(ImmutableVersionError):
        update_brand_draft(session, version, version.tokens, "ana")


def test_brand_tokens_are_validated_with_their_paths(session: Session) -> None:
    tokens = dict(published_brand_version(session, "northwind").tokens)
    tokens["palette"] = {**tokens["palette"], "primary": "red; } body { display:none"}
    tokens["sms_sender_id"] = "Northwind Energy Ltd"
    with pytest.raises(RegistryError) as caught:
        add_brand_version(session, get_brand(session, "northwind"), tokens)
    assert "palette/primary" in caught.value.detail
    assert "sms_sender_id" in caught.value.detail


def test_one_brand_stylesheet_serves_every_channel(session: Session) -> None:
    tokens = BrandTokens.model_validate(published_brand_version(session, "northwind").tokens)
    sheets = {medium: brand_css(tokens, medium) for medium in ("print", "screen", "email")}
    for css in sheets.values():
        assert tokens.palette.primary in css and "table.items" in css
    assert "@page" in sheets["print"] and "@page" not in sheets["screen"]


def test_blocks_are_included_by_reference_and_pinned_by_approval(session: Session) -> None:
    before = render_document(session, "utility-bill", bill_data(SAMPLE_CUSTOMERS[2]), "pdf",
                             locale="de_DE")
    assert ("block/legal-footer", 1) in before.block_versions
    block = ensure_block(session, "legal-footer", BlockKind.BLOCK)
    add_block_version(session, block, '<footer class="legal-footer">NEW LEGAL TEXT 2027'
                      "</footer>", published=True)
    pinned = render_document(session, "utility-bill", bill_data(SAMPLE_CUSTOMERS[2]), "pdf",
                             locale="de_DE")
    assert "NEW LEGAL TEXT 2027" not in pdf_text(pinned.content)
    assert ("block/legal-footer", 1) in pinned.block_versions
    draft = add_template_version(session, get_template(session, "utility-bill"),
                                 content_of(session, "utility-bill"))
    publish_reviewed(session, draft)
    after = render_document(session, "utility-bill", bill_data(SAMPLE_CUSTOMERS[2]), "pdf",
                            locale="de_DE")
    assert "NEW LEGAL TEXT 2027" in pdf_text(after.content)
    assert ("block/legal-footer", 2) in after.block_versions
    assert after.template_version == before.template_version + 1
    stored = get_template_version(session, "utility-bill")
    assert "NEW LEGAL TEXT" not in str(stored.bodies)


def _copy_stock(tmp_path: Path) -> Path:
    target = tmp_path / "registry"
    shutil.copytree(STOCK_DIR, target, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    return target


def test_invalid_template_folders_are_refused_naming_every_problem(
    session: Session, tmp_path: Path
) -> None:
    folder = _copy_stock(tmp_path)
    yaml_path = folder / "templates" / "utility-bill" / "template.yaml"
    text = yaml_path.read_text().replace("stage: first-bill\n", "")
    yaml_path.write_text(text.replace("  sms: sms.txt\n", "  sms: sms.txt\n  fax: sms.txt\n"))
    with pytest.raises(RegistryError) as caught:
        load_registry(session, folder)
    assert "journey stage tag" in caught.value.detail
    assert "unknown body channel(s): fax" in caught.value.detail


def test_a_template_syntax_error_is_reported_with_its_line(session: Session,
                                                           tmp_path: Path) -> None:
    folder = _copy_stock(tmp_path)
    body = folder / "templates" / "utility-bill" / "sms.txt"
    body.write_text("Hello\n{{ invoice_number }\n")
    with pytest.raises(RegistryError, match=r"utility-bill/sms, line 2"):
        load_registry(session, folder)


def test_a_template_whose_sample_data_does_not_match_its_schema_is_refused(
    session: Session, tmp_path: Path
) -> None:
    folder = _copy_stock(tmp_path)
    sample = folder / "templates" / "utility-bill" / "sample.json"
    sample.write_text(sample.read_text().replace('"invoice_number"', '"invoice_no"', 1))
    with pytest.raises(RegistryError, match="invoice_number: required property is missing"):
        load_registry(session, folder)


def test_reserved_names_cannot_be_data_properties(session: Session, tmp_path: Path) -> None:
    folder = _copy_stock(tmp_path)
    schema = folder / "templates" / "utility-bill" / "schema.json"
    schema.write_text(schema.read_text().replace('"supply_address": {', '"brand": {"type": '
                                                 '"string"}, "supply_address": {', 1))
    with pytest.raises(RegistryError, match="reserved"):
        load_registry(session, folder)


def test_brand_fonts_come_from_registry_assets(session: Session) -> None:
    """A brand's font file is stored in the registry and embedded through the fetcher."""
    import io

    from pypdf import PdfReader

    from ccm.assets.service import put_asset
    from ccm.brand.service import publish_brand_version

    font = Path("/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf")
    if not font.is_file():
        pytest.skip("DejaVu Sans Mono is not installed")
    asset = put_asset(session, font.read_bytes(), "font/ttf")
    tokens = dict(published_brand_version(session, "northwind").tokens)
    tokens["fonts"] = {**tokens["fonts"], "body": "Northwind Type",
                       "faces": [{"family": "Northwind Type", "asset": asset.sha256}]}
    row = add_brand_version(session, get_brand(session, "northwind"), tokens, author="ana")
    publish_brand_version(session, row, "ben")
    document = render_document(session, "utility-bill", bill_data(SAMPLE_CUSTOMERS[0]), "pdf")
    assert document.brand_version == row.version
    assert document.warnings == ()
    reader = PdfReader(io.BytesIO(document.content))
    fonts = {str(font_ref.get_object()["/BaseFont"])
             for page in reader.pages
             for font_ref in page["/Resources"]["/Font"].values()}
    assert any("Northwind-Type" in name for name in fonts), fonts


def test_specs_are_built_once_per_published_version_and_rebuilt_on_change(
    session: Session,
) -> None:
    from ccm.rendering.service import resolve_specs

    first = resolve_specs(session, "utility-bill")
    assert resolve_specs(session, "utility-bill") is first  # no reload per document
    block = ensure_block(session, "payment-slip", BlockKind.BLOCK)
    source = first[0].blocks["block/payment-slip"].replace("payment-slip", "payment-slip v2")
    add_block_version(session, block, source, published=True)
    # The published bill is pinned to the blocks it was approved with: nothing to rebuild.
    assert resolve_specs(session, "utility-bill") is first
    draft = add_template_version(session, get_template(session, "utility-bill"),
                                 content_of(session, "utility-bill"))
    publish_reviewed(session, draft)
    second = resolve_specs(session, "utility-bill")
    assert second is not first
    assert "payment-slip v2" in second[0].blocks["block/payment-slip"]
    assert second[0].block_versions["block/payment-slip"] == 2
