"""Brand registry: brands, their versions of tokens, and their assets."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ccm.assets.service import get_assets
from ccm.brand.models import Brand, BrandVersion
from ccm.brand.tokens import BrandTokens
from ccm.errors import ConflictError, NotFoundError, RegistryError
from ccm.rendering.spec import AssetData, BrandSpec
from ccm.versioning import VersionStatus
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


def create_brand(session: Session, key: str, name: str) -> Brand:
    """A new brand; its key must be free."""
    if session.scalar(select(Brand.id).where(Brand.key == key)) is not None:
        raise ConflictError(f"brand {key!r} already exists; add a version instead")
    return ensure_brand(session, key, name)


def ensure_brand(session: Session, key: str, name: str) -> Brand:
    brand = session.scalar(select(Brand).where(Brand.key == key))
    if brand is None:
        brand = Brand(key=key, name=name)
        session.add(brand)
        session.flush()
    else:
        brand.name = name
    return brand


def add_brand_version(
    session: Session, brand: Brand, tokens: dict[str, Any], *, published: bool = False
) -> BrandVersion:
    """A new version of ``brand``'s tokens (validated; assets must be in the registry)."""
    parsed = validate_tokens(tokens, brand.key)
    _require_assets(session, parsed, brand.key)
    latest = session.scalar(
        select(func.max(BrandVersion.version)).where(BrandVersion.brand_id == brand.id)
    )
    row = BrandVersion(
        brand_id=brand.id, version=(latest or 0) + 1, status=VersionStatus.DRAFT,
        tokens=parsed.model_dump(mode="json"),
    )
    session.add(row)
    if published:
        publish(row, f"brand {brand.key}")
    session.flush()
    return row


def update_brand_draft(session: Session, row: BrandVersion, tokens: dict[str, Any]) -> None:
    ensure_editable(row, f"brand {row.brand.key}")
    parsed = validate_tokens(tokens, row.brand.key)
    _require_assets(session, parsed, row.brand.key)
    row.tokens = parsed.model_dump(mode="json")
    session.flush()


def publish_brand_version(session: Session, row: BrandVersion) -> None:
    publish(row, f"brand {row.brand.key}")
    session.flush()


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
