"""``/v1/brands``: the brand registry for marketing (auditors may read)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from ccm.api.deps import Marketing, MarketingIdempotency, MarketingOrAuditor, Services
from ccm.api.schemas import problem_responses
from ccm.brand.contrast import check_palette
from ccm.brand.models import Brand, BrandVersion
from ccm.brand.service import (
    add_brand_version,
    create_brand,
    get_brand,
    get_brand_version,
    list_brand_versions,
    list_brands,
    publish_brand_version,
)
from ccm.brand.tokens import BrandTokens
from ccm.db.base import as_utc

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


class VersionSummary(BaseModel):
    version: int
    status: str
    created_at: datetime
    published_at: datetime | None


class BrandOut(BaseModel):
    key: str
    name: str
    published_version: int | None
    versions: list[VersionSummary]


class BrandVersionOut(BaseModel):
    brand: str
    version: int
    status: str
    tokens: dict[str, Any]
    created_at: datetime
    published_at: datetime | None


class BrandVersionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid",
                              json_schema_extra={"examples": [{"tokens": TOKENS_EXAMPLE}]})

    tokens: dict[str, Any] = Field(description="Palette, fonts, logo, legal footer, senders…")
    publish: bool = Field(default=False, description="Publish at once (else a draft).")


class BrandCreate(BrandVersionCreate):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"key": "northwind", "name": "Northwind Energy", "tokens": TOKENS_EXAMPLE}]})

    key: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,99}$")
    name: str = Field(min_length=1, max_length=200)


def summary(row: Any) -> VersionSummary:
    return VersionSummary(version=row.version, status=row.status.value,
                          created_at=as_utc(row.created_at),
                          published_at=as_utc(row.published_at))


def brand_out(brand: Brand, versions: list[BrandVersion]) -> BrandOut:
    published = [v.version for v in versions if v.status.value == "published"]
    return BrandOut(key=brand.key, name=brand.name,
                    published_version=max(published) if published else None,
                    versions=[summary(v) for v in versions])


def version_out(row: BrandVersion) -> BrandVersionOut:
    return BrandVersionOut(brand=row.brand.key, version=row.version, status=row.status.value,
                           tokens=row.tokens, created_at=as_utc(row.created_at),
                           published_at=as_utc(row.published_at))


def _created(request: Request, row: BrandVersion) -> Response:
    url = str(request.url_for("get_brand_version_route", key=row.brand.key,
                              version=row.version))
    return JSONResponse(version_out(row).model_dump(mode="json"), status_code=201,
                        headers={"Location": url})


@router.get("/brands", response_model=list[BrandOut], summary="All brands",
            responses=problem_responses(401, 403))
def brands(services: Services, _principal: MarketingOrAuditor) -> list[BrandOut]:
    with services.unit_of_work() as session:
        return [brand_out(b, list(list_brand_versions(session, b.key)))
                for b in list_brands(session)]


@router.post("/brands", status_code=201, response_model=BrandVersionOut,
             summary="Create a brand with its first version",
             responses=problem_responses(400, 401, 403, 409, 413, 422))
def create_brand_route(body: BrandCreate, request: Request, services: Services,
                       _principal: Marketing, guard: MarketingIdempotency) -> Response:
    """Tokens are validated; logo and font assets must be uploaded first (`/v1/assets`)."""
    with services.unit_of_work() as session:
        brand = create_brand(session, body.key, body.name)
        row = add_brand_version(session, brand, body.tokens, published=body.publish)
        return guard.keep(session, _created(request, row))


@router.get("/brands/{key}", response_model=BrandOut, summary="One brand and its versions",
            responses=problem_responses(401, 403, 404))
def brand(key: str, services: Services, _principal: MarketingOrAuditor) -> BrandOut:
    with services.unit_of_work() as session:
        return brand_out(get_brand(session, key), list(list_brand_versions(session, key)))


@router.get("/brands/{key}/versions", response_model=list[BrandVersionOut],
            summary="A brand's versions with their tokens",
            responses=problem_responses(401, 403, 404))
def brand_versions(key: str, services: Services, _principal: MarketingOrAuditor
                   ) -> list[BrandVersionOut]:
    with services.unit_of_work() as session:
        return [version_out(v) for v in list_brand_versions(session, key)]


@router.post("/brands/{key}/versions", status_code=201, response_model=BrandVersionOut,
             summary="Add a version (a draft unless `publish`)",
             responses=problem_responses(400, 401, 403, 404, 409, 413, 422))
def create_brand_version(key: str, body: BrandVersionCreate, request: Request,
                         services: Services, _principal: Marketing,
                         guard: MarketingIdempotency) -> Response:
    with services.unit_of_work() as session:
        row = add_brand_version(session, get_brand(session, key), body.tokens,
                                published=body.publish)
        return guard.keep(session, _created(request, row))


@router.get("/brands/{key}/versions/{version}", response_model=BrandVersionOut,
            name="get_brand_version_route", summary="One brand version",
            responses=problem_responses(401, 403, 404))
def brand_version(key: str, version: VersionNumber, services: Services,
                  _principal: MarketingOrAuditor) -> BrandVersionOut:
    with services.unit_of_work() as session:
        return version_out(get_brand_version(session, key, version))


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
             responses=problem_responses(401, 403, 404, 409))
def publish_brand(key: str, version: VersionNumber, services: Services, _principal: Marketing,
                  guard: MarketingIdempotency) -> Response:
    with services.unit_of_work() as session:
        row = get_brand_version(session, key, version)
        publish_brand_version(session, row)
        response = JSONResponse(version_out(row).model_dump(mode="json"))
        return guard.keep(session, response)
