"""``/v1/assets``: logos, fonts and images, stored content-addressed in the registry."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Request, Response
from fastapi.responses import JSONResponse

from ccm.api.deps import Marketing, MarketingIdempotency, MarketingOrAuditor, Services
from ccm.api.schemas import problem_responses
from ccm.assets.service import ALLOWED_MEDIA_TYPES, get_assets, put_asset
from ccm.errors import InputError

router = APIRouter(tags=["assets"])

#: What brands and templates may use (what the renderer can embed); anything else is
#: refused at upload.
ASSET_MEDIA_TYPES = ALLOWED_MEDIA_TYPES


#: An uploaded SVG is served as it came: opened in a browser, it must run nothing.
_INERT = {"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; sandbox",
          "X-Content-Type-Options": "nosniff"}


@router.post(
    "/assets", status_code=201, summary="Upload a logo, font or image",
    openapi_extra={"requestBody": {"required": True, "content": {
        t: {"schema": {"type": "string", "format": "binary"}} for t in sorted(ASSET_MEDIA_TYPES)
    }}},
    responses={201: {"content": {"application/json": {"example": {
        "sha256": "9f2c…", "media_type": "image/svg+xml", "size": 2048}}}},
        **problem_responses(401, 403, 413, 422)},
)
async def upload_asset(
    request: Request, services: Services, _principal: Marketing,
    guard: MarketingIdempotency,
    content_type: Annotated[str, Header()] = "",
) -> Response:
    """The body is the file; `Content-Type` says what it is. Reply: its SHA-256, which
    brand tokens use to refer to it."""
    media_type = content_type.split(";")[0].strip().lower()
    if media_type not in ASSET_MEDIA_TYPES:
        raise InputError(f"assets must be one of {', '.join(sorted(ASSET_MEDIA_TYPES))}, "
                         f"not {media_type or 'an unnamed type'!r}")
    content = await request.body()
    if not content:
        raise InputError("the asset is empty")
    with services.unit_of_work() as session:
        asset = put_asset(session, content, media_type)
        url = str(request.url_for("get_asset", sha256=asset.sha256))
        response = JSONResponse({"sha256": asset.sha256, "media_type": asset.media_type,
                                 "size": asset.size}, status_code=201,
                                headers={"Location": url})
        return guard.keep(session, response)


@router.get("/assets/{sha256}", name="get_asset", summary="An asset's bytes",
            response_class=Response,
            responses={200: {"description": "The bytes as uploaded, with their media type.",
                             "content": {t: {"schema": {"type": "string", "format": "binary"}}
                                         for t in sorted(ASSET_MEDIA_TYPES)}},
                       **problem_responses(401, 403, 404)})
def get_asset(sha256: str, services: Services, _principal: MarketingOrAuditor) -> Response:
    with services.unit_of_work() as session:
        asset = get_assets(session, [sha256])[sha256]
    return Response(asset.content, media_type=asset.media_type,
                    headers={"ETag": f'"{asset.sha256}"', **_INERT})
