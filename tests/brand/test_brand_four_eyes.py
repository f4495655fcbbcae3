"""Four eyes for brand versions: the person who wrote a version never publishes it, only
its author changes a draft, and colours that fail AA contrast are never published."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from ccm.brand.models import Brand, BrandVersion
from ccm.brand.service import (
    add_brand_version,
    create_brand,
    latest_brand_version,
    publish_brand_version,
    published_brand_version,
    rebase_brand_version,
    update_brand_draft,
)
from ccm.errors import ApprovalRequiredError, FourEyesError, ImmutableVersionError, RegistryError
from ccm.registry.loader import load_registry
from ccm.stock import STOCK_DIR
from ccm.versioning import REGISTRY_LOADER, VersionStatus

#: Light greys on white: small print and the accent rule both fail AA.
PALE = {"muted": "#aaaaaa", "accent": "#eeeeee"}


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def stock_tokens(session: Session, **changes: Any) -> dict[str, Any]:
    return {**published_brand_version(session, "northwind").tokens, **changes}


def draft(session: Session, author: str | None = "ana", **changes: Any
          ) -> tuple[Brand, BrandVersion]:
    """A brand of the test's own with one draft by ``author``."""
    brand = create_brand(session, unique("eyes"), "Four Eyes Energy")
    return brand, add_brand_version(session, brand, stock_tokens(session, **changes),
                                    author=author)


def test_the_author_cannot_publish_their_own_version(session: Session) -> None:
    _, row = draft(session)
    assert (row.created_by, row.published_by) == ("ana", None)
    with pytest.raises(FourEyesError, match="'ana'") as caught:
        publish_brand_version(session, row, "ana")
    assert caught.value.code == "four_eyes"
    assert row.status is VersionStatus.DRAFT and row.published_at is None

    publish_brand_version(session, row, "ben")
    assert row.status is VersionStatus.PUBLISHED and row.published_at is not None
    assert (row.created_by, row.published_by) == ("ana", "ben")
    publish_brand_version(session, row, "ana")  # published already: nothing changes
    assert row.published_by == "ben"


def test_only_the_author_changes_a_draft(session: Session) -> None:
    """So the author is the only one who wrote it, and whoever publishes it wrote none."""
    _, row = draft(session)
    before = dict(row.tokens)
    with pytest.raises(FourEyesError, match="only its author changes it"):
        update_brand_draft(session, row, stock_tokens(session, currency="GBP"), "ben")
    assert row.tokens == before and row.created_by == "ana"

    update_brand_draft(session, row, stock_tokens(session, currency="CHF"), "ana")
    assert row.tokens["currency"] == "CHF"
    with pytest.raises(FourEyesError):
        publish_brand_version(session, row, "ana")
    publish_brand_version(session, row, "ben")
    with pytest.raises(ImmutableVersionError):
        update_brand_draft(session, row, before, "ana")


def test_a_draft_with_no_recorded_author_is_never_published_by_a_person(
        session: Session) -> None:
    _, row = draft(session, author=None)
    with pytest.raises(FourEyesError, match="no recorded author"):
        publish_brand_version(session, row, "ben")
    with pytest.raises(FourEyesError, match="no recorded author"):
        update_brand_draft(session, row, stock_tokens(session), "ben")
    assert row.status is VersionStatus.DRAFT


def test_colours_that_fail_contrast_are_not_published(session: Session) -> None:
    palette = {**stock_tokens(session)["palette"], **PALE}
    brand, row = draft(session, palette=palette)
    with pytest.raises(RegistryError) as caught:
        publish_brand_version(session, row, "ben")
    detail = caught.value.detail
    assert "fails WCAG 2.1 AA contrast" in detail
    assert "muted on background" in detail and "accent on background" in detail
    assert "needs 4.5:1" in detail and "needs 3.0:1" in detail
    assert "text on background" not in detail  # the pairs that pass are not named
    assert row.status is VersionStatus.DRAFT and row.published_by is None
    with pytest.raises(RegistryError, match="muted on background"):  # nor when loaded
        add_brand_version(session, brand, stock_tokens(session, palette=palette),
                          published=True)


def test_the_stock_brand_passes_contrast(session: Session) -> None:
    _, row = draft(session)
    publish_brand_version(session, row, "ben")  # the stock palette, published
    assert row.status is VersionStatus.PUBLISHED


def test_loaded_versions_are_written_and_published_by_the_registry_load(
        session: Session, tmp_path: Path) -> None:
    key = unique("loaded")
    shutil.copytree(STOCK_DIR / "brands" / "northwind", tmp_path / "brands" / key)

    load_registry(session, tmp_path, publish=False)
    row = latest_brand_version(session, key, published_only=False)
    assert row is not None and row.status is VersionStatus.DRAFT
    assert (row.created_by, row.published_by) == (REGISTRY_LOADER, None)
    load_registry(session, tmp_path)  # the same files, now published: that very draft
    session.refresh(row)
    assert row.status is VersionStatus.PUBLISHED
    assert (row.created_by, row.published_by) == (REGISTRY_LOADER, REGISTRY_LOADER)

    brand = row.brand
    imported = add_brand_version(session, brand, stock_tokens(session), published=True)
    assert (imported.created_by, imported.published_by) == (REGISTRY_LOADER, REGISTRY_LOADER)


def test_a_loaded_draft_is_published_by_a_person(session: Session, tmp_path: Path) -> None:
    key = unique("loaded")
    shutil.copytree(STOCK_DIR / "brands" / "northwind", tmp_path / "brands" / key)
    load_registry(session, tmp_path, publish=False)
    row = latest_brand_version(session, key, published_only=False)
    assert row is not None
    publish_brand_version(session, row, "ben")  # the files wrote it: ben is a second person
    assert (row.created_by, row.published_by) == (REGISTRY_LOADER, "ben")


def test_a_rebase_publishes_at_once_only_what_was_published(session: Session) -> None:
    parent, first = draft(session)
    publish_brand_version(session, first, "ben")
    solar = create_brand(session, unique("solar"), "Solar", parent_key=parent.key)
    published = add_brand_version(session, solar, {"company_name": "Solar GmbH"}, author="ana")
    publish_brand_version(session, published, "ben")
    newer = add_brand_version(session, parent, stock_tokens(session, currency="GBP"),
                              author="ana")
    publish_brand_version(session, newer, "ben")

    rebased = rebase_brand_version(session, solar, "cy", published=True)
    assert rebased.status is VersionStatus.PUBLISHED
    assert (rebased.created_by, rebased.published_by) == ("cy", "cy")

    own = add_brand_version(session, solar, {"company_name": "Solar AG"}, author="ana")
    publish_brand_version(session, add_brand_version(
        session, parent, stock_tokens(session, currency="CHF"), author="ana"), "ben")
    with pytest.raises(ApprovalRequiredError, match="not been published"):
        rebase_brand_version(session, solar, "ana", published=True)
    with pytest.raises(FourEyesError, match="only its author rebases it"):
        rebase_brand_version(session, solar, "ben")  # ana's overrides, not ben's
    again = rebase_brand_version(session, solar, "ana")
    assert again.status is VersionStatus.DRAFT and again.overrides == own.overrides
    assert again.tokens["currency"] == "CHF" and again.created_by == "ana"
    with pytest.raises(FourEyesError):
        publish_brand_version(session, again, "ana")
