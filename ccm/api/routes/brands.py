"""``/v1/brands``: the brand registry for marketing (auditors may read).

A sub-brand is made with ``parent``; its versions' ``tokens`` (in requests) are then its
overrides, laid over the parent's latest published version, while ``tokens`` in replies
are always the tokens in force. ``POST /v1/brands/{key}/rebase`` takes up the parent's
latest published version with the same overrides.

Four eyes: a brand version reaches every document, so it is written by one person (a
draft) and published by another with ``POST /v1/brands/{key}/versions/{version}/publish``;
``publish`` on a new version is refused (a rebase, made of versions already published, may
be published at once). Versions show ``created_by`` and ``published_by``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from ccm.api.deps import Marketing, MarketingIdempotency, MarketingOrAuditor, Services
from ccm.api.schemas import problem_responses
from ccm.brand.contrast import check_palette
from ccm.brand.models import Brand, BrandVersion
from ccm.brand.service import (
    add_brand_version,
    create_brand,
    get_brand,
    get_brand_version,
    inherited_version,
    list_brand_versions,
    list_brands,
    list_sub_brands,
    parent_brand,
    publish_brand_version,
    rebase_brand_version,
)
from ccm.brand.tokens import BrandTokens
from ccm.db.base import as_utc
from ccm.errors import ApprovalRequiredError

router = APIRouter(tags=["brands"])

#: A version number in a path: versions count from 1 and fit the database's integer.
VersionNumber = Annotated[int, Path(ge=1, le=2**31 - 1, description="Version number.")]

TOKENS_EXAMPLE: dict[str, Any] = {
    "company_name": "Northwind Energy GmbH",
    "address": ["Hafenstraße 12", "20457 Hamburg", "Germany"],
    "palette": {"primary": "#0b5d4b", "secondary": "#1f7a66", "accent": "#c77c02",
                "text": "#1f2933", "muted": "#52606d", "background": "#ffffff",
                "surface": "#eef4f2"},
    "fonts": {"body": "DejaVu Sans", "heading": "DejaVu Sans"},
    "logo": {"svg": "<sha256 of an SVG uploaded with POST /v1/assets>",
             "png": "<sha256 of its PNG rendition>"},
    "legal_footer": {"en": "Northwind Energy GmbH · Amtsgericht Hamburg HRB 123456"},
    "email_sender": {"name": "Northwind Energy", "address": "service@northwind-energy.example"},
    "sms_sender_id": "Northwind",
    "default_locale": "en_GB",
    "currency": "EUR",
}

OVERRIDES_EXAMPLE: dict[str, Any] = {
    "company_name": "Northwind Solar GmbH",
    "palette": {"primary": "#c77c02", "accent": "#0b5d4b"},
    "email_sender": {"name": "Northwind Solar"},
}

#: Brand keys as the API makes them and as registry folders may name them.
BRAND_KEY = r"^[a-z0-9][a-z0-9_-]{0,99}$"


CREATED_BY = "The API key that wrote the version (`registry load` for loaded files)."
PUBLISHED_BY = ("The API key that published it, never its author "
                "(`registry load` for loaded files).")


class VersionSummary(BaseModel):
    version: int
    status: str
    created_at: datetime
    published_at: datetime | None


class BrandVersionSummary(VersionSummary):
    created_by: str | None = Field(default=None, description=CREATED_BY)
    published_by: str | None = Field(default=None, description=PUBLISHED_BY)


class BrandOut(BaseModel):
    key: str
    name: str
    published_version: int | None
    versions: list[BrandVersionSummary]
    parent: str | None = Field(default=None, description="The brand this is a sub-brand of.")
    sub_brands: list[str] = Field(default_factory=list,
                                  description="The brands that are sub-brands of this one.")


class BrandVersionOut(BaseModel):
    brand: str
    version: int
    status: str
    tokens: dict[str, Any] = Field(description="The tokens in force (a sub-brand's: the "
                                               "parent's with the overrides laid over them).")
    created_at: datetime
    published_at: datetime | None
    created_by: str | None = Field(default=None, description=CREATED_BY)
    published_by: str | None = Field(default=None, description=PUBLISHED_BY)
    overrides: dict[str, Any] | None = Field(
        default=None, description="A sub-brand's own tokens; null for a brand of its own.")
    parent_version: int | None = Field(
        default=None, description="The parent's version the tokens were inherited from.")


class BrandVersionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"tokens": TOKENS_EXAMPLE}, {"tokens": OVERRIDES_EXAMPLE}]})

    tokens: dict[str, Any] = Field(description="Palette, fonts, logo, legal footer, senders…; "
                                               "for a sub-brand, only what it overrides.")
    publish: bool = Field(default=False, description=(
        "Kept for older clients: `true` is refused (409 `approval_required`) and nothing is "
        "made. A new version is a draft; someone other than its author publishes it with "
        "`POST /v1/brands/{key}/versions/{version}/publish`."))


class BrandCreate(BrandVersionCreate):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"key": "northwind", "name": "Northwind Energy", "tokens": TOKENS_EXAMPLE},
        {"key": "northwind-solar", "name": "Northwind Solar", "parent": "northwind",
         "tokens": OVERRIDES_EXAMPLE}]})

    key: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,99}$")
    name: str = Field(min_length=1, max_length=200)
    parent: str | None = Field(
        default=None, pattern=BRAND_KEY,
        description="Make a sub-brand of this brand: `tokens` are then the overrides, laid "
                    "over the parent's latest published version (`{}` inherits everything).")


class BrandRebase(BaseModel):
    model_config = ConfigDict(extra="forbid",
                              json_schema_extra={"examples": [{"publish": True}]})

    publish: bool = Field(default=False, description=(
        "Publish at once, recorded with the caller as author and publisher (else a draft): "
        "allowed only when the sub-brand's latest version is published, as its overrides "
        "and the parent version were then each published by a second person already."))


def _refuse_publish(body: BrandVersionCreate, key: str, version: int | str) -> None:
    if body.publish:
        raise ApprovalRequiredError(
            f"brand versions are published by a second person: leave out `publish` (the "
            f"version is a draft), then someone other than you publishes it with "
            f"POST /v1/brands/{key}/versions/{version}/publish")


def summary(row: Any) -> VersionSummary:
    return VersionSummary(version=row.version, status=row.status.value,
                          created_at=as_utc(row.created_at),
                          published_at=as_utc(row.published_at))


def brand_summary(row: BrandVersion) -> BrandVersionSummary:
    return BrandVersionSummary(**summary(row).model_dump(), created_by=row.created_by,
                               published_by=row.published_by)


def brand_out(brand: Brand, versions: list[BrandVersion], parent: Brand | None,
              sub_brands: list[Brand]) -> BrandOut:
    published = [v.version for v in versions if v.status.value == "published"]
    return BrandOut(key=brand.key, name=brand.name,
                    published_version=max(published) if published else None,
                    versions=[brand_summary(v) for v in versions],
                    parent=parent.key if parent else None,
                    sub_brands=[b.key for b in sub_brands])


def version_out(session: Session, row: BrandVersion) -> BrandVersionOut:
    inherited = inherited_version(session, row)
    return BrandVersionOut(brand=row.brand.key, version=row.version, status=row.status.value,
                           tokens=row.tokens, created_at=as_utc(row.created_at),
                           published_at=as_utc(row.published_at),
                           created_by=row.created_by, published_by=row.published_by,
                           overrides=row.overrides,
                           parent_version=inherited.version if inherited else None)


def _created(session: Session, request: Request, row: BrandVersion) -> Response:
    url = str(request.url_for("get_brand_version_route", key=row.brand.key,
                              version=row.version))
    return JSONResponse(version_out(session, row).model_dump(mode="json"), status_code=201,
                        headers={"Location": url})


@router.get("/brands", response_model=list[BrandOut], summary="All brands",
            responses=problem_responses(401, 403))
def brands(services: Services, _principal: MarketingOrAuditor) -> list[BrandOut]:
    with services.unit_of_work() as session:
        brands = list(list_brands(session))
        by_id = {b.id: b for b in brands}
        return [brand_out(b, list(list_brand_versions(session, b.key)),
                          by_id.get(b.parent_id) if b.parent_id is not None else None,
                          [c for c in brands if c.parent_id == b.id])
                for b in brands]


@router.post("/brands", status_code=201, response_model=BrandVersionOut,
             summary="Create a brand with its first version",
             responses=problem_responses(400, 401, 403, 409, 413, 422))
def create_brand_route(body: BrandCreate, request: Request, services: Services,
                       principal: Marketing, guard: MarketingIdempotency) -> Response:
    """Tokens are validated; logo and font assets must be uploaded first (`/v1/assets`).
    With `parent`, a sub-brand: `tokens` are what it overrides (a new logo names both
    `svg` and `png`; `legal_footer` and lists such as `fonts.faces` replace the parent's
    whole), and the parent needs a published version. The first version is a draft by the
    caller; another key publishes it."""
    _refuse_publish(body, body.key, 1)
    with services.unit_of_work() as session:
        brand = create_brand(session, body.key, body.name, parent_key=body.parent)
        row = add_brand_version(session, brand, body.tokens, author=principal.name)
        return guard.keep(session, _created(session, request, row))


@router.get("/brands/{key}", response_model=BrandOut, summary="One brand and its versions",
            responses=problem_responses(401, 403, 404))
def brand(key: str, services: Services, _principal: MarketingOrAuditor) -> BrandOut:
    with services.unit_of_work() as session:
        row = get_brand(session, key)
        return brand_out(row, list(list_brand_versions(session, key)),
                         parent_brand(session, row), list(list_sub_brands(session, row)))


@router.get("/brands/{key}/versions", response_model=list[BrandVersionOut],
            summary="A brand's versions with their tokens",
            responses=problem_responses(401, 403, 404))
def brand_versions(key: str, services: Services, _principal: MarketingOrAuditor
                   ) -> list[BrandVersionOut]:
    with services.unit_of_work() as session:
        return [version_out(session, v) for v in list_brand_versions(session, key)]


@router.post("/brands/{key}/versions", status_code=201, response_model=BrandVersionOut,
             summary="Add a version (a draft, published by someone else)",
             responses=problem_responses(400, 401, 403, 404, 409, 413, 422))
def create_brand_version(key: str, body: BrandVersionCreate, request: Request,
                         services: Services, principal: Marketing,
                         guard: MarketingIdempotency) -> Response:
    _refuse_publish(body, key, "{version}")
    with services.unit_of_work() as session:
        row = add_brand_version(session, get_brand(session, key), body.tokens,
                                author=principal.name)
        return guard.keep(session, _created(session, request, row))


@router.get("/brands/{key}/versions/{version}", response_model=BrandVersionOut,
            name="get_brand_version_route", summary="One brand version",
            responses=problem_responses(401, 403, 404))
def brand_version(key: str, version: VersionNumber, services: Services,
                  _principal: MarketingOrAuditor) -> BrandVersionOut:
    with services.unit_of_work() as session:
        return version_out(session, get_brand_version(session, key, version))


@router.get("/brands/{key}/versions/{version}/contrast",
            summary="WCAG 2.1 AA contrast of the brand's colour pairs",
            responses=problem_responses(401, 403, 404, 422))
def brand_contrast(key: str, version: VersionNumber, services: Services,
                   _principal: MarketingOrAuditor) -> dict[str, Any]:
    """Each foreground the brand stylesheet draws on a background, its contrast ratio,
    the AA minimum (4.5:1 for text, 3:1 for meaningful borders) and whether it passes."""
    with services.unit_of_work() as session:
        row = get_brand_version(session, key, version)
        checks = check_palette(BrandTokens.model_validate(row.tokens).palette)
    return {"brand": key, "version": version, "passes": all(c.passes for c in checks),
            "pairs": [{"foreground": c.foreground, "background": c.background, "use": c.use,
                       "ratio": c.ratio, "required": c.required, "passes": c.passes}
                      for c in checks]}


@router.post("/brands/{key}/versions/{version}/publish", response_model=BrandVersionOut,
             summary="Publish a draft version (it can never change again)",
             responses=problem_responses(401, 403, 404, 409, 422))
def publish_brand(key: str, version: VersionNumber, services: Services, principal: Marketing,
                  guard: MarketingIdempotency) -> Response:
    """By someone other than its author (409 `four_eyes`); from now on every document of
    the brand is made with it. 422 when its colours fail WCAG 2.1 AA contrast (the failing
    pairs are named). Publishing a published version again changes nothing."""
    with services.unit_of_work() as session:
        row = get_brand_version(session, key, version)
        publish_brand_version(session, row, principal.name)
        response = JSONResponse(version_out(session, row).model_dump(mode="json"))
        return guard.keep(session, response)


@router.post("/brands/{key}/rebase", status_code=201, response_model=BrandVersionOut,
             summary="Take up the parent's latest published version (a sub-brand's new version)",
             responses=problem_responses(400, 401, 403, 404, 409, 413, 422))
def rebase_brand(key: str, request: Request, services: Services, principal: Marketing,
                 guard: MarketingIdempotency,
                 body: Annotated[BrandRebase | None, Body(openapi_examples={
                     "publish": {"summary": "Rebase and publish at once",
                                 "value": {"publish": True}},
                     "draft": {"summary": "Rebase as a draft (also: no body)", "value": {}}})
                 ] = None) -> Response:
    """A new version of the sub-brand by the caller with its latest version's overrides,
    laid over the parent's latest published version; its published versions never change.
    With `publish` it is published at once (by the caller) when that latest version is
    published: both parts were already published by a second person. 409 when the latest
    version already inherits from that parent version, when `publish` would publish a
    draft's overrides (`approval_required`) or when a draft is someone else's
    (`four_eyes`); 422 for a brand of its own or colours that fail contrast."""
    with services.unit_of_work() as session:
        row = rebase_brand_version(session, get_brand(session, key), principal.name,
                                   published=body.publish if body else False)
        return guard.keep(session, _created(session, request, row))
