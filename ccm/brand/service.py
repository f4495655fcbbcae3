"""Brand registry: brands, their versions of tokens, and their assets.

Sub-brands: a brand may name a parent (a top-level brand or another sub-brand). Each of
its versions stores the overrides it was given, the parent version they were laid over
(the parent's latest *published* one) and the merged tokens, which everything that
renders reads. A published version never changes, so a parent's new version reaches a
sub-brand only through a new sub-brand version: :func:`rebase_brand_version` makes one
with the same overrides, and :func:`sub_brands_behind` lists who needs it. A brand's
parent is set when the brand is made and can change only while the brand has no
versions (its versions were inherited from that parent); a brand can never descend from
itself.

Four eyes: a brand version reaches every document (a template's approval pins its blocks,
not the brand's legal footer, colours, logo or senders), so, like a template version, it
is published by someone other than the person who wrote it:

- A version records its author (``created_by``) and its publisher (``published_by``).
- Only a draft's author changes its content (:func:`update_brand_draft`, or a rebase of
  the draft): the author is then the only person who wrote any of it, and
  :func:`publish_brand_version` refuses exactly that person. A draft with no recorded
  author is never published by a person; a new version replaces it.
- A version whose colours fail WCAG 2.1 AA contrast (``contrast.py``) is not published.
- Versions loaded from files (``ccm registry load`` and ``ccm registry import``) are
  written and published as ``registry load``: their review happened where the files are
  kept. A draft loaded from files is the files' own, so a person may publish it.
- A rebase takes overrides already published over a parent version already published, so
  it may be published at once by whoever asks for it (as a template's rollback is),
  recorded as its author and its publisher.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ccm.assets.service import get_assets
from ccm.brand.contrast import check_palette
from ccm.brand.models import Brand, BrandVersion
from ccm.brand.tokens import BrandTokens, overlay_tokens, override_problems
from ccm.errors import (
    ApprovalRequiredError,
    ConflictError,
    FourEyesError,
    NotFoundError,
    RegistryError,
)
from ccm.rendering.spec import AssetData, BrandSpec
from ccm.versioning import REGISTRY_LOADER, VersionStatus
from ccm.versioning_service import ensure_editable, publish


def validate_tokens(tokens: dict[str, Any], brand_key: str) -> BrandTokens:
    try:
        return BrandTokens.model_validate(tokens)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'/'.join(str(p) for p in err['loc']) or '(tokens)'}: {err['msg']}"
            for err in exc.errors()
        )
        raise RegistryError(f"brand {brand_key!r} tokens are invalid: {problems}") from None


def _require_assets(session: Session, tokens: BrandTokens, brand_key: str) -> None:
    """The assets the tokens name must be in the registry: a missing one is a fault of the
    tokens (not a brand that cannot be found)."""
    try:
        assets = get_assets(session, tokens.asset_digests())
    except NotFoundError as exc:
        raise RegistryError(
            f"brand {brand_key!r} tokens name {exc.detail}; upload the assets first"
        ) from None
    wanted = [("logo/svg", tokens.logo.svg, "image/", "an image"),
              ("logo/png", tokens.logo.png, "image/", "an image")]
    wanted += [(f"fonts/faces/{i}/asset", face.asset, "font/", "a font")
               for i, face in enumerate(tokens.fonts.faces)]
    wrong = [f"{path}: the asset is {assets[digest].media_type}, not {what}"
             for path, digest, kind, what in wanted
             if not assets[digest].media_type.startswith(kind)]
    if wrong:
        raise RegistryError(f"brand {brand_key!r} tokens are invalid: {'; '.join(wrong)}")


def get_brand(session: Session, key: str) -> Brand:
    brand = session.scalar(select(Brand).where(Brand.key == key))
    if brand is None:
        raise NotFoundError(f"brand {key!r} is not in the registry")
    return brand


def create_brand(session: Session, key: str, name: str, parent_key: str | None = None
                 ) -> Brand:
    """A new brand, or a sub-brand of ``parent_key``; its key must be free."""
    if session.scalar(select(Brand.id).where(Brand.key == key)) is not None:
        raise ConflictError(f"brand {key!r} already exists; add a version instead")
    return ensure_brand(session, key, name, parent_key)


def ensure_brand(session: Session, key: str, name: str, parent_key: str | None = None
                 ) -> Brand:
    """The brand ``key`` with this name and parent, made if it is not there yet."""
    parent = _parent_for(session, key, parent_key)
    brand = session.scalar(select(Brand).where(Brand.key == key))
    if brand is None:
        brand = Brand(key=key, name=name, parent_id=parent.id if parent else None)
        session.add(brand)
        session.flush()
        return brand
    if brand.parent_id != (parent.id if parent else None):
        _change_parent(session, brand, parent)
    brand.name = name
    return brand


def _parent_for(session: Session, key: str, parent_key: str | None) -> Brand | None:
    if parent_key is None:
        return None
    if parent_key == key:
        raise RegistryError(f"brand {key!r} cannot be its own parent")
    parent = session.scalar(select(Brand).where(Brand.key == parent_key))
    if parent is None:
        raise RegistryError(f"brand {key!r} names the parent brand {parent_key!r}, which is "
                            "not in the registry; make the parent first")
    return parent


def _change_parent(session: Session, brand: Brand, parent: Brand | None) -> None:
    has_versions = session.scalar(
        select(BrandVersion.id).where(BrandVersion.brand_id == brand.id).limit(1))
    if has_versions is not None:
        current = parent_brand(session, brand)
        was = f"a sub-brand of {current.key!r}" if current else "a brand of its own"
        wanted = f"a sub-brand of {parent.key!r}" if parent else "a brand of its own"
        raise RegistryError(
            f"brand {brand.key!r} is {was} and has versions, so it cannot become {wanted}: "
            "its versions were inherited from its parent; make a new brand instead")
    if parent is not None:
        chain = [brand.key, parent.key]
        ancestor: Brand | None = parent
        while ancestor is not None:
            if ancestor.id == brand.id:
                raise RegistryError(f"brand {brand.key!r} cannot be a sub-brand of "
                                    f"{parent.key!r}: that is a cycle "
                                    f"({' → '.join(chain)})")
            ancestor = parent_brand(session, ancestor)
            if ancestor is not None:
                chain.append(ancestor.key)
    brand.parent_id = parent.id if parent else None
    session.flush()


def parent_brand(session: Session, brand: Brand) -> Brand | None:
    """The brand ``brand`` is a sub-brand of, if any."""
    return session.get(Brand, brand.parent_id) if brand.parent_id is not None else None


def list_sub_brands(session: Session, brand: Brand) -> Sequence[Brand]:
    """The brands whose parent is ``brand`` (not their own sub-brands)."""
    return session.scalars(select(Brand).where(Brand.parent_id == brand.id)
                           .order_by(Brand.key)).all()


def inherited_version(session: Session, row: BrandVersion) -> BrandVersion | None:
    """The parent version a sub-brand version's tokens were laid over."""
    if row.parent_version_id is None:
        return None
    return session.get(BrandVersion, row.parent_version_id)


@dataclass(frozen=True)
class _Resolved:
    tokens: dict[str, Any]
    overrides: dict[str, Any] | None
    parent_version_id: int | None


def _resolve(session: Session, brand: Brand, given: dict[str, Any]) -> _Resolved:
    """The tokens a version of ``brand`` stores for ``given``: the tokens themselves, or
    for a sub-brand the overrides laid over the parent's latest published version."""
    parent = parent_brand(session, brand)
    if parent is None:
        parsed = validate_tokens(given, brand.key)
        _require_assets(session, parsed, brand.key)
        return _Resolved(parsed.model_dump(mode="json"), None, None)
    base = latest_brand_version(session, parent.key)
    if base is None:
        raise RegistryError(f"brand {brand.key!r} is a sub-brand of {parent.key!r}, which has "
                            "no published version to inherit from; publish one first")
    problems = override_problems(given)
    if problems:
        raise RegistryError(f"brand {brand.key!r} tokens are invalid: {'; '.join(problems)}")
    parsed = validate_tokens(overlay_tokens(base.tokens, given), brand.key)
    _require_assets(session, parsed, brand.key)
    return _Resolved(parsed.model_dump(mode="json"), copy.deepcopy(given), base.id)


def _what(row: BrandVersion) -> str:
    return f"brand {row.brand.key!r} v{row.version}"


def add_brand_version(
    session: Session, brand: Brand, tokens: dict[str, Any], *, published: bool = False,
    author: str | None = None,
) -> BrandVersion:
    """A new draft of ``brand``'s tokens by ``author`` (validated; assets must be in the
    registry).

    For a sub-brand ``tokens`` are its overrides (``{}`` inherits everything), laid over
    the parent's latest published version. ``published`` is for versions loaded from
    files, whose review happened where the files are kept: they are published at once by
    ``registry load`` (also their author unless one is named)."""
    resolved = _resolve(session, brand, tokens)
    latest = session.scalar(
        select(func.max(BrandVersion.version)).where(BrandVersion.brand_id == brand.id)
    )
    loader = REGISTRY_LOADER
    row = BrandVersion(
        brand_id=brand.id, version=(latest or 0) + 1, status=VersionStatus.DRAFT,
        tokens=resolved.tokens, overrides=resolved.overrides,
        parent_version_id=resolved.parent_version_id,
        created_by=author or (loader if published else None),
    )
    session.add(row)
    session.flush()
    if published:
        _publish(row, loader)
        session.flush()
    return row


def update_brand_draft(session: Session, row: BrandVersion, tokens: dict[str, Any],
                       editor: str) -> None:
    """Change a draft's tokens (a sub-brand's: its overrides, laid over the parent's latest
    published version, which the draft is then based on). Only its author does: whoever
    publishes it must have written none of it, and a version records one author."""
    ensure_editable(row, f"brand {row.brand.key}")
    _require_author(row, editor, "changes")
    resolved = _resolve(session, row.brand, tokens)
    row.tokens, row.overrides = resolved.tokens, resolved.overrides
    row.parent_version_id = resolved.parent_version_id
    session.flush()


def _require_author(row: BrandVersion, editor: str, doing: str) -> None:
    if row.created_by is None:
        raise FourEyesError(f"{_what(row)} is a draft with no recorded author, so nobody "
                            f"{doing} it; add a new version instead")
    if editor != row.created_by:
        raise FourEyesError(f"{_what(row)} is a draft by {row.created_by!r}; only its author "
                            f"{doing} it, so that the person who publishes it wrote none of "
                            "it: add a version of your own instead")


def rebase_brand_version(
    session: Session, brand: Brand, author: str, *, published: bool = False
) -> BrandVersion:
    """A new version of sub-brand ``brand`` by ``author`` with its latest version's
    overrides, laid over its parent's latest published version: how a parent's change
    reaches a sub-brand.

    ``published`` publishes it at once, by ``author``: only when the latest version is
    published, so that both the overrides and the parent version were approved by a second
    person already. A draft's overrides are rebased only by the draft's author."""
    parent = parent_brand(session, brand)
    if parent is None:
        raise RegistryError(f"brand {brand.key!r} is not a sub-brand: it has no parent to "
                            "rebase on")
    latest = latest_brand_version(session, brand.key, published_only=False)
    if latest is None:
        raise RegistryError(f"sub-brand {brand.key!r} has no version to rebase; add one")
    base = latest_brand_version(session, parent.key)
    if base is not None and latest.parent_version_id == base.id:
        raise ConflictError(f"sub-brand {brand.key!r} v{latest.version} already inherits from "
                            f"{parent.key!r} v{base.version}, its latest published version")
    if latest.status is not VersionStatus.PUBLISHED:
        if published:
            raise ApprovalRequiredError(
                f"{_what(latest)} is {latest.status.value}: its overrides have not been "
                "published by a second person, so a rebase of it is not published at once; "
                "rebase it as a draft and have someone else publish that")
        _require_author(latest, author, "rebases")
    row = add_brand_version(session, brand, copy.deepcopy(latest.overrides or {}),
                            author=author)
    if published:
        _publish(row, author)
        session.flush()
    return row


@dataclass(frozen=True)
class BehindParent:
    """A sub-brand whose latest version inherits from an older parent version."""

    brand: str
    version: int
    parent: str
    #: The parent version the sub-brand's latest version was laid over.
    inherited_version: int | None
    #: The parent's latest published version, which a rebase would take up.
    parent_version: int


def sub_brands_behind(session: Session) -> list[BehindParent]:
    """Sub-brands whose latest version is not based on their parent's latest published
    version, by key: the ones a rebase would change."""
    behind = []
    for brand in session.scalars(select(Brand).where(Brand.parent_id.is_not(None))
                                 .order_by(Brand.key)):
        parent = parent_brand(session, brand)
        latest = latest_brand_version(session, brand.key, published_only=False)
        assert parent is not None
        base = latest_brand_version(session, parent.key)
        if latest is None or base is None or latest.parent_version_id == base.id:
            continue
        inherited = inherited_version(session, latest)
        behind.append(BehindParent(brand.key, latest.version, parent.key,
                                   inherited.version if inherited else None, base.version))
    return behind


def publish_brand_version(session: Session, row: BrandVersion, publisher: str) -> None:
    """Publish a draft by ``publisher``, who must not be its author (four eyes); from now
    on every document of the brand is made with it. Publishing a published version again
    changes nothing (a retried request)."""
    if row.status is VersionStatus.PUBLISHED:
        return
    if row.created_by is None:
        raise FourEyesError(f"{_what(row)} has no recorded author, so nobody can be shown "
                            "to be a second person; add a new version and have someone "
                            "else publish it")
    if publisher == row.created_by:
        raise FourEyesError(f"{_what(row)} was written by {publisher!r}; someone who did not "
                            "write it must publish it")
    _publish(row, publisher)
    session.flush()


def publish_loaded_brand_version(session: Session, row: BrandVersion) -> None:
    """Publish a draft as ``ccm registry load`` does when its files hold the same tokens:
    the review happened where the files are kept."""
    if row.status is VersionStatus.PUBLISHED:
        return
    _publish(row, REGISTRY_LOADER)
    session.flush()


def _publish(row: BrandVersion, publisher: str) -> None:
    failing = [c for c in check_palette(BrandTokens.model_validate(row.tokens).palette)
               if not c.passes]
    if failing:
        pairs = "; ".join(f"{c.foreground} on {c.background} ({c.use}): {c.ratio}:1, "
                          f"needs {c.required}:1" for c in failing)
        raise RegistryError(f"{_what(row)} fails WCAG 2.1 AA contrast, so it is not "
                            f"published: {pairs}; change the palette in a new version")
    publish(row, f"brand {row.brand.key}")
    row.published_by = publisher


def latest_brand_version(
    session: Session, brand_key: str, *, published_only: bool = True
) -> BrandVersion | None:
    query = (
        select(BrandVersion).join(Brand).where(Brand.key == brand_key)
        .order_by(BrandVersion.version.desc()).limit(1)
    )
    if published_only:
        query = query.where(BrandVersion.status == VersionStatus.PUBLISHED)
    return session.scalar(query)


def published_brand_version(session: Session, brand_key: str) -> BrandVersion:
    row = latest_brand_version(session, brand_key)
    if row is None:
        raise NotFoundError(f"brand {brand_key!r} has no published version")
    return row


def brand_spec(session: Session, row: BrandVersion) -> BrandSpec:
    tokens = BrandTokens.model_validate(row.tokens)
    assets = get_assets(session, tokens.asset_digests())
    return BrandSpec(
        key=row.brand.key, version=row.version, tokens=tokens,
        assets={sha: AssetData(sha, a.media_type, a.content) for sha, a in assets.items()},
    )


def list_brands(session: Session) -> Sequence[Brand]:
    return session.scalars(select(Brand).order_by(Brand.key)).all()


def list_brand_versions(session: Session, brand_key: str) -> Sequence[BrandVersion]:
    brand = get_brand(session, brand_key)
    return session.scalars(select(BrandVersion).where(BrandVersion.brand_id == brand.id)
                           .order_by(BrandVersion.version)).all()


def get_brand_version(session: Session, brand_key: str, version: int) -> BrandVersion:
    brand = get_brand(session, brand_key)
    row = session.scalar(select(BrandVersion).where(BrandVersion.brand_id == brand.id,
                                                    BrandVersion.version == version))
    if row is None:
        raise NotFoundError(f"brand {brand_key!r} has no version {version}")
    return row
