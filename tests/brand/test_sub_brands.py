"""Sub-brands: a parent's tokens with some overridden, frozen once published, taken up
again by rebasing."""

from __future__ import annotations

import base64
import uuid
from typing import Any

import pytest
from sqlalchemy.orm import Session

from ccm.assets.service import get_assets, put_asset
from ccm.brand.models import Brand, BrandVersion
from ccm.brand.service import (
    add_brand_version,
    create_brand,
    ensure_brand,
    inherited_version,
    list_sub_brands,
    parent_brand,
    published_brand_version,
    rebase_brand_version,
    sub_brands_behind,
    update_brand_draft,
)
from ccm.brand.stylesheet import brand_css
from ccm.brand.tokens import BrandTokens, overlay_tokens
from ccm.errors import ConflictError, ImmutableVersionError, RegistryError
from ccm.rendering.service import render_document
from ccm.stock import STOCK_DIR
from ccm.stock.customers import SAMPLE_CUSTOMERS, bill_data
from ccm.templates.models import TemplateKind
from ccm.templates.service import (
    TemplateContent,
    add_template_version,
    ensure_template,
    get_template_version,
)
from ccm.versioning import VersionStatus

LOGO = STOCK_DIR / "brands" / "northwind" / "logo.svg"
SOLAR_GREEN = "#2e7d32"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def stock_tokens(session: Session) -> dict[str, Any]:
    return dict(published_brand_version(session, "northwind").tokens)


def make_parent(session: Session, **changes: Any) -> Brand:
    """A published brand of the test's own, made from the stock brand's tokens."""
    brand = create_brand(session, unique("parent"), "Parent Energy")
    add_brand_version(session, brand, {**stock_tokens(session), **changes}, published=True)
    return brand


def new_logo(session: Session) -> dict[str, str]:
    svg = LOGO.read_bytes().rstrip() + f"\n<!-- {uuid.uuid4()} -->\n".encode()
    png = (STOCK_DIR / "brands" / "northwind" / "logo.png").read_bytes()
    return {"svg": put_asset(session, svg, "image/svg+xml").sha256,
            "png": put_asset(session, png, "image/png").sha256}


def solar(session: Session, parent: Brand, **extra: Any) -> tuple[Brand, BrandVersion,
                                                                   dict[str, Any]]:
    overrides = {"company_name": "Northwind Solar GmbH",
                 "palette": {"primary": SOLAR_GREEN},
                 "logo": new_logo(session), **extra}
    brand = create_brand(session, unique("solar"), "Northwind Solar", parent_key=parent.key)
    return brand, add_brand_version(session, brand, overrides, published=True), overrides


def test_a_sub_brand_inherits_palette_and_fonts_and_overrides_logo_and_name(
        session: Session) -> None:
    parent = make_parent(session)
    base = published_brand_version(session, parent.key)
    brand, row, overrides = solar(session, parent)

    assert parent_brand(session, brand) is parent
    assert [b.key for b in list_sub_brands(session, parent)] == [brand.key]
    assert row.overrides == overrides and inherited_version(session, row) is base
    tokens = BrandTokens.model_validate(row.tokens)
    assert tokens.company_name == "Northwind Solar GmbH"
    assert tokens.logo.svg == overrides["logo"]["svg"] != base.tokens["logo"]["svg"]
    assert tokens.logo.width_mm == base.tokens["logo"]["width_mm"]  # merged, not replaced
    assert tokens.palette.primary == SOLAR_GREEN
    others = {k: v for k, v in base.tokens["palette"].items() if k != "primary"}
    assert others.items() <= row.tokens["palette"].items()
    assert row.tokens["fonts"] == base.tokens["fonts"]
    assert row.tokens["legal_footer"] == base.tokens["legal_footer"]


def test_the_sub_brand_stylesheet_and_documents_show_the_overrides(session: Session) -> None:
    parent = make_parent(session)
    brand, row, _ = solar(session, parent)
    css = brand_css(BrandTokens.model_validate(row.tokens), "screen")
    assert SOLAR_GREEN in css
    assert published_brand_version(session, parent.key).tokens["palette"]["primary"] not in css

    stock = get_template_version(session, "utility-bill")
    template = ensure_template(session, unique("solar-bill"), TemplateKind.BILL, brand.key)
    add_template_version(session, template, TemplateContent.of(stock), published=True)
    document = render_document(session, template.key, bill_data(SAMPLE_CUSTOMERS[0]), "html")
    html = document.content.decode()
    assert document.brand_version == row.version
    assert "Northwind Solar GmbH" in html and SOLAR_GREEN in html
    logo = get_assets(session, [row.tokens["logo"]["svg"]])[row.tokens["logo"]["svg"]]
    assert base64.b64encode(logo.content).decode() in html  # the sub-brand's own logo


def test_no_overrides_is_pure_inheritance(session: Session) -> None:
    parent = make_parent(session)
    brand = create_brand(session, unique("twin"), "Twin", parent_key=parent.key)
    row = add_brand_version(session, brand, {}, published=True)
    assert row.tokens == published_brand_version(session, parent.key).tokens
    assert row.overrides == {}


def test_a_parent_change_reaches_a_sub_brand_only_when_rebased(session: Session) -> None:
    parent = make_parent(session)
    brand, first, overrides = solar(session, parent)
    frozen = dict(first.tokens)
    assert brand.key not in {b.brand for b in sub_brands_behind(session)}

    changed = {**stock_tokens(session), "currency": "GBP",
               "palette": {**stock_tokens(session)["palette"], "accent": "#aa3300"}}
    newer = add_brand_version(session, parent, changed, published=True)
    session.refresh(first)
    assert first.tokens == frozen  # published: never changes
    assert published_brand_version(session, brand.key).version == first.version
    behind = {b.brand: b for b in sub_brands_behind(session)}[brand.key]
    assert (behind.version, behind.parent, behind.inherited_version, behind.parent_version) == (
        first.version, parent.key, 1, newer.version)

    rebased = rebase_brand_version(session, brand, "ana", published=True)
    assert rebased.version == first.version + 1 and rebased.status is VersionStatus.PUBLISHED
    assert (rebased.created_by, rebased.published_by) == ("ana", "ana")
    assert rebased.overrides == overrides
    assert inherited_version(session, rebased) is newer
    assert rebased.tokens["currency"] == "GBP" and rebased.tokens["palette"]["accent"] == "#aa3300"
    assert rebased.tokens["palette"]["primary"] == SOLAR_GREEN  # the override still wins
    assert brand.key not in {b.brand for b in sub_brands_behind(session)}
    with pytest.raises(ConflictError, match="already inherits from"):
        rebase_brand_version(session, brand, "ana")


def test_a_parent_draft_is_not_inherited(session: Session) -> None:
    parent = make_parent(session)
    brand, first, _ = solar(session, parent)
    add_brand_version(session, parent, {**stock_tokens(session), "currency": "GBP"})
    assert brand.key not in {b.brand for b in sub_brands_behind(session)}
    with pytest.raises(ConflictError):
        rebase_brand_version(session, brand, "ana")
    again = add_brand_version(session, brand, first.overrides or {})
    assert again.tokens["currency"] == "EUR"


def test_drafts_are_merged_again_when_updated(session: Session) -> None:
    parent = make_parent(session)
    brand, first, overrides = solar(session, parent)
    draft = add_brand_version(session, brand, {**overrides, "sms_sender_id": "NWSolar"},
                              author="ana")
    assert draft.status is VersionStatus.DRAFT and draft.tokens["sms_sender_id"] == "NWSolar"
    newer = add_brand_version(session, parent, {**stock_tokens(session), "currency": "CHF"},
                              published=True)
    update_brand_draft(session, draft, {"company_name": "Northwind Sun AG"}, "ana")
    assert draft.overrides == {"company_name": "Northwind Sun AG"}
    assert draft.tokens["company_name"] == "Northwind Sun AG"
    assert draft.tokens["sms_sender_id"] == "Northwind"  # back to the parent's
    assert draft.tokens["currency"] == "CHF" and draft.parent_version_id == newer.id
    with pytest.raises(ImmutableVersionError):
        update_brand_draft(session, first, {}, "ana")


def test_lists_and_the_legal_footer_replace_the_parents_whole(session: Session) -> None:
    parent = make_parent(session)
    brand = create_brand(session, unique("solar"), "Solar", parent_key=parent.key)
    row = add_brand_version(session, brand, {
        "address": ["Solarweg 1", "20095 Hamburg"],
        "legal_footer": {"en": "Northwind Solar GmbH · HRB 654321"},
        "email_sender": {"name": "Northwind Solar"},
    })
    assert row.tokens["address"] == ["Solarweg 1", "20095 Hamburg"]
    assert row.tokens["legal_footer"] == {"en": "Northwind Solar GmbH · HRB 654321"}
    assert row.tokens["email_sender"] == {"name": "Northwind Solar",
                                          "address": "service@northwind-energy.example"}
    merged = overlay_tokens({"fonts": {"faces": [{"family": "A"}], "body": "A"}},
                            {"fonts": {"faces": []}})
    assert merged == {"fonts": {"faces": [], "body": "A"}}


@pytest.mark.parametrize(("overrides", "words"), [
    ({"palette": {"primary": "green; } body {"}}, ["palette/primary", "hex colour"]),
    ({"palette": {"shade": "#000000"}}, ["palette/shade"]),
    ({"fonts": "DejaVu Sans"}, ["fonts"]),
    ({"logo": {"svg": "0" * 64}}, ["logo/png", "both"]),
    ({"logo": {"svg": "1" * 64, "png": "1" * 64}}, ["upload the assets first"]),
    ({"legal_footer": {"fr": "Northwind Solaire"}}, ["legal_footer", "en_GB"]),
], ids=["colour", "unknown", "not-a-mapping", "half-a-logo", "missing-asset", "footer"])
def test_invalid_overrides_name_their_path(session: Session, overrides: dict[str, Any],
                                           words: list[str]) -> None:
    parent = make_parent(session)
    brand = create_brand(session, unique("bad"), "Bad", parent_key=parent.key)
    with pytest.raises(RegistryError) as caught:
        add_brand_version(session, brand, overrides)
    for word in words:
        assert word in caught.value.detail, caught.value.detail
    assert brand.key in caught.value.detail


def test_a_width_alone_keeps_the_parents_logo(session: Session) -> None:
    parent = make_parent(session)
    brand = create_brand(session, unique("narrow"), "Narrow", parent_key=parent.key)
    row = add_brand_version(session, brand, {"logo": {"width_mm": 30}})
    base = published_brand_version(session, parent.key).tokens["logo"]
    assert row.tokens["logo"] == {**base, "width_mm": 30}


def test_a_parent_needs_a_published_version(session: Session) -> None:
    parent = create_brand(session, unique("unready"), "Unready")
    add_brand_version(session, parent, stock_tokens(session))  # a draft only
    brand = create_brand(session, unique("child"), "Child", parent_key=parent.key)
    with pytest.raises(RegistryError, match="no published version to inherit from"):
        add_brand_version(session, brand, {})


def test_sub_brands_nest_and_cycles_are_refused(session: Session) -> None:
    parent = make_parent(session)
    middle, _, _ = solar(session, parent)
    leaf = create_brand(session, unique("leaf"), "Leaf", parent_key=middle.key)
    row = add_brand_version(session, leaf, {"sms_sender_id": "Leaf"})
    assert row.tokens["company_name"] == "Northwind Solar GmbH"  # through the middle
    assert row.tokens["palette"]["primary"] == SOLAR_GREEN

    top = create_brand(session, unique("top"), "Top")
    low = create_brand(session, unique("low"), "Low", parent_key=top.key)
    lowest = create_brand(session, unique("lowest"), "Lowest", parent_key=low.key)
    with pytest.raises(RegistryError, match="cycle") as caught:
        ensure_brand(session, top.key, "Top", parent_key=lowest.key)
    assert f"{top.key} → {lowest.key} → {low.key} → {top.key}" in caught.value.detail
    with pytest.raises(RegistryError, match="its own parent"):
        ensure_brand(session, top.key, "Top", parent_key=top.key)
    with pytest.raises(RegistryError, match="not in the registry"):
        create_brand(session, unique("orphan"), "Orphan", parent_key=unique("nobody"))


def test_a_parent_is_fixed_once_the_brand_has_versions(session: Session) -> None:
    parent = make_parent(session)
    other = make_parent(session)
    brand, _, _ = solar(session, parent)
    with pytest.raises(RegistryError, match="cannot become a sub-brand of"):
        ensure_brand(session, brand.key, brand.name, parent_key=other.key)
    with pytest.raises(RegistryError, match="cannot become a brand of its own"):
        ensure_brand(session, brand.key, brand.name)
    with pytest.raises(RegistryError, match="cannot become a sub-brand"):
        ensure_brand(session, "northwind", "Northwind Energy", parent_key=parent.key)
    bare = create_brand(session, unique("bare"), "Bare")
    assert ensure_brand(session, bare.key, "Bare", parent_key=other.key).parent_id == other.id


def test_only_sub_brands_with_a_version_are_rebased(session: Session) -> None:
    parent = make_parent(session)
    with pytest.raises(RegistryError, match="not a sub-brand"):
        rebase_brand_version(session, parent, "ana")
    empty = create_brand(session, unique("empty"), "Empty", parent_key=parent.key)
    with pytest.raises(RegistryError, match="no version to rebase"):
        rebase_brand_version(session, empty, "ana")
