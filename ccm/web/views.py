"""What each studio page shows, read from the registry's services: plain values the page
templates lay out. The editor reads and writes through the ``/v1`` API instead (its
script runs in the browser); these are the pages that need no script."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from ccm.brand.contrast import ContrastCheck, check_palette, contrast_ratio
from ccm.brand.models import Brand, BrandVersion
from ccm.brand.service import (
    BehindParent,
    get_brand,
    get_brand_version,
    inherited_version,
    latest_brand_version,
    list_brand_versions,
    list_brands,
    list_sub_brands,
    parent_brand,
    sub_brands_behind,
)
from ccm.brand.tokens import REPLACED_WHOLE, BrandTokens
from ccm.errors import NotFoundError
from ccm.templates.blocks import (
    StalePin,
    block_versions,
    get_block,
    list_blocks,
    needs_reapproval,
)
from ccm.templates.diff import diff_versions
from ccm.templates.models import Template, TemplateVersion
from ccm.templates.service import (
    block_name,
    get_template,
    get_template_version,
    list_template_versions,
    list_templates,
)
from ccm.templates.usage import BlockUsage, where_used
from ccm.versioning import VersionStatus


@dataclass(frozen=True)
class VersionItem:
    version: int
    status: str
    created_by: str | None


@dataclass(frozen=True)
class TemplateRow:
    """One template as the list shows it."""

    key: str
    kind: str
    brand: str
    description: str
    journey: str
    stage: str
    latest: VersionItem
    published_version: int | None
    versions: tuple[VersionItem, ...]


def _item(row: TemplateVersion) -> VersionItem:
    return VersionItem(row.version, row.status.value, row.created_by)


def _published(rows: list[TemplateVersion]) -> int | None:
    published = [r.version for r in rows if r.status is VersionStatus.PUBLISHED]
    return max(published) if published else None


def _template_row(session: Session, template: Template, brand_key: str) -> TemplateRow:
    versions = list(list_template_versions(session, template.key))
    latest = versions[-1]
    return TemplateRow(template.key, template.kind.value, brand_key, template.description,
                       latest.journey_key, latest.stage_key, _item(latest),
                       _published(versions), tuple(_item(v) for v in versions))


def template_rows(session: Session) -> list[TemplateRow]:
    brands = {brand.id: brand.key for brand in list_brands(session)}
    return [_template_row(session, template, brands[template.brand_id])
            for template in list_templates(session)]


def template_row(session: Session, key: str) -> TemplateRow:
    template = get_template(session, key)
    brand = session.get(Brand, template.brand_id)
    assert brand is not None
    return _template_row(session, template, brand.key)


@dataclass(frozen=True)
class DiffLine:
    kind: str  # "add", "remove", "hunk", "file" or "context"
    text: str


@dataclass(frozen=True)
class PartDiff:
    part: str
    lines: tuple[DiffLine, ...]


def _line_kind(line: str) -> str:
    if line.startswith(("+++", "---")):
        return "file"
    if line.startswith("@@"):
        return "hunk"
    return {"+": "add", "-": "remove"}.get(line[:1], "context")


def template_diff(session: Session, key: str, old: int, new: int) -> list[PartDiff]:
    before = get_template_version(session, key, old, published_only=False)
    after = get_template_version(session, key, new, published_only=False)
    return [PartDiff(change.part, tuple(DiffLine(_line_kind(line), line)
                                        for line in change.diff.splitlines()))
            for change in diff_versions(before, after)]


def default_diff_range(row: TemplateRow) -> tuple[int, int]:
    """What a reviewer most likely wants: the latest version against what is live (or,
    when the latest is live, against the one before it)."""
    latest = row.latest.version
    if row.published_version is not None and row.published_version != latest:
        return row.published_version, latest
    return max(latest - 1, 1), latest


@dataclass(frozen=True)
class BlockRow:
    name: str  # "block/letterhead"
    kind: str
    key: str
    description: str
    live_version: int | None
    stale: int  # live template versions pinned to an older version of it


def block_rows(session: Session) -> list[BlockRow]:
    rows = []
    for block in list_blocks(session):
        name = block_name(block)
        live = [v.version for v in block_versions(session, block)
                if v.status is VersionStatus.PUBLISHED]
        rows.append(BlockRow(name, block.kind.value, block.key, block.description,
                             max(live) if live else None,
                             len(needs_reapproval(session, name))))
    return rows


@dataclass(frozen=True)
class BlockPage:
    key: str
    description: str
    usage: BlockUsage
    stale: tuple[StalePin, ...]


def block_page(session: Session, key: str) -> BlockPage:
    block = get_block(session, key)
    name = block_name(block)
    return BlockPage(block.key, block.description, where_used(session, name),
                     tuple(needs_reapproval(session, name)))


@dataclass(frozen=True)
class Swatch:
    name: str
    hex: str
    text_colour: str  # readable on the swatch, for its label
    origin: str | None  # "own" or "inherited" on a sub-brand, else None


@dataclass(frozen=True)
class BrandLink:
    key: str
    name: str


@dataclass(frozen=True)
class Lineage:
    """Where a sub-brand version's tokens come from."""

    parent: BrandLink
    #: The parent version this version's tokens were laid over.
    inherited_version: int | None
    #: The token paths this version sets itself (``palette.primary``, ``logo.svg``).
    own: frozenset[str]


@dataclass(frozen=True)
class BrandPage:
    key: str
    name: str
    version: int
    status: str
    versions: tuple[VersionItem, ...]
    tokens: BrandTokens
    swatches: tuple[Swatch, ...]
    contrast: tuple[ContrastCheck, ...]
    lineage: Lineage | None  # None for a brand of its own
    sub_brands: tuple[BrandLink, ...]
    #: Set when the sub-brand's latest version inherits from an older parent version.
    behind: BehindParent | None

    def origin(self, path: str) -> str | None:
        """``own`` when this sub-brand version sets the token at ``path`` (or anything
        under it), ``inherited`` when it takes the parent's; None for a brand of its own."""
        if self.lineage is None:
            return None
        return "own" if _sets(self.lineage.own, path) else "inherited"


def _sets(own: frozenset[str], path: str) -> bool:
    return path in own or any(p.startswith(f"{path}.") for p in own)


def override_paths(overrides: Mapping[str, Any], prefix: tuple[str, ...] = ()) -> set[str]:
    """The token paths a sub-brand's overrides set, merged the way ``overlay_tokens``
    merges them (a list, or a token replaced whole, is one path)."""
    paths: set[str] = set()
    for name, value in overrides.items():
        path = (*prefix, name)
        if isinstance(value, Mapping) and path not in REPLACED_WHOLE:
            paths |= override_paths(value, path)
        else:
            paths.add(".".join(path))
    return paths


def _readable_on(colour: str) -> str:
    return "#000000" if contrast_ratio("#000000", colour) >= contrast_ratio(
        "#ffffff", colour) else "#ffffff"


def _lineage(session: Session, brand: Brand, row: BrandVersion) -> Lineage | None:
    parent = parent_brand(session, brand)
    if parent is None:
        return None
    inherited = inherited_version(session, row)
    return Lineage(BrandLink(parent.key, parent.name),
                   inherited.version if inherited is not None else None,
                   frozenset(override_paths(row.overrides or {})))


def brand_page(session: Session, key: str, version: int | None = None) -> BrandPage:
    brand = get_brand(session, key)
    row: BrandVersion | None
    if version is not None:
        row = get_brand_version(session, key, version)
    else:
        row = (latest_brand_version(session, key)
               or latest_brand_version(session, key, published_only=False))
    if row is None:
        raise NotFoundError(f"brand {key!r} has no versions")
    tokens = BrandTokens.model_validate(row.tokens)
    lineage = _lineage(session, brand, row)
    own = lineage.own if lineage is not None else None
    swatches = tuple(
        Swatch(name, colour, _readable_on(colour),
               None if own is None else "own" if _sets(own, f"palette.{name}") else "inherited")
        for name, colour in tokens.palette.model_dump().items())
    versions = tuple(VersionItem(v.version, v.status.value, None)
                     for v in list_brand_versions(session, key))
    behind = next((b for b in sub_brands_behind(session) if b.brand == key), None) \
        if lineage is not None else None
    return BrandPage(brand.key, brand.name, row.version, row.status.value, versions, tokens,
                     swatches, tuple(check_palette(tokens.palette)), lineage,
                     tuple(BrandLink(b.key, b.name) for b in list_sub_brands(session, brand)),
                     behind)


@dataclass(frozen=True)
class BrandRow:
    key: str
    name: str
    published_version: int | None
    latest_version: int
    parent: str | None
    sub_brands: tuple[str, ...]
    behind: BehindParent | None


def brand_rows(session: Session) -> list[BrandRow]:
    brands = list_brands(session)
    keys = {brand.id: brand.key for brand in brands}
    children: dict[int, list[str]] = {}
    for brand in brands:
        if brand.parent_id is not None:
            children.setdefault(brand.parent_id, []).append(brand.key)
    behind = {b.brand: b for b in sub_brands_behind(session)}
    rows = []
    for brand in brands:
        versions = list(list_brand_versions(session, brand.key))
        published = [v.version for v in versions if v.status is VersionStatus.PUBLISHED]
        rows.append(BrandRow(brand.key, brand.name, max(published) if published else None,
                             versions[-1].version if versions else 0,
                             keys.get(brand.parent_id) if brand.parent_id is not None else None,
                             tuple(children.get(brand.id, ())), behind.get(brand.key)))
    return rows
