"""``/v1/blocks``: shared blocks and layouts, their versions, where they are used, and
which templates a change leaves to be re-approved (marketing; auditors may read)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from ccm.api.deps import Marketing, MarketingIdempotency, MarketingOrAuditor, Services
from ccm.api.routes.brands import VersionNumber
from ccm.api.schemas import problem_responses
from ccm.db.base import as_utc
from ccm.errors import ConflictError, NotFoundError
from ccm.templates.blocks import (
    StalePin,
    block_versions,
    delete_block,
    get_block,
    list_blocks,
    needs_reapproval,
)
from ccm.templates.models import Block, BlockKind, BlockVersion
from ccm.templates.service import add_block_version, block_name, ensure_block
from ccm.templates.usage import block_include_name, where_used

router = APIRouter(tags=["templates"])

_SOURCE_EXAMPLE = '<footer class="legal-footer">{{ brand.legal_footer }}</footer>'


class BlockCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "key": "service-hours", "kind": "block", "description": "Opening hours",
        "source": "<p>{{ brand.contact.phone }}</p>"}]})

    key: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,99}$")
    kind: BlockKind = Field(description="`block` (included) or `layout` (extended).")
    description: str = ""
    source: str = Field(min_length=1, description="Jinja source.")


class BlockVersionIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"source": _SOURCE_EXAMPLE}]})

    source: str = Field(min_length=1, description="Jinja source.")


class StalePinOut(BaseModel):
    template: str
    version: int
    status: str
    pinned: int = Field(description="The block version this template version is sent with.")
    live: int = Field(description="The block's live version.")


class BlockVersionOut(BaseModel):
    version: int
    status: str
    source: str
    created_by: str | None
    created_at: datetime


class BlockOut(BaseModel):
    key: str
    kind: str
    include_name: str = Field(description="What templates include: `block/<key>` or "
                                          "`layout/<key>`.")
    description: str
    live_version: int | None
    versions: list[BlockVersionOut] | None = None
    needs_reapproval: list[StalePinOut] = Field(
        default_factory=list, description="Templates pinned to an older version: each takes "
        "the live one up only through a new version approved again.")


def _stale(pins: list[StalePin]) -> list[StalePinOut]:
    return [StalePinOut(template=p.template, version=p.version, status=p.status,
                        pinned=p.pinned, live=p.live) for p in pins]


def _version_out(row: BlockVersion) -> BlockVersionOut:
    return BlockVersionOut(version=row.version, status=row.status.value, source=row.source,
                           created_by=row.created_by, created_at=as_utc(row.created_at))


def _block_out(block: Block, rows: list[BlockVersion], stale: list[StalePin], *,
               with_versions: bool) -> BlockOut:
    live = [r.version for r in rows if r.status.value == "published"]
    return BlockOut(key=block.key, kind=block.kind.value, include_name=block_name(block),
                    description=block.description, live_version=max(live) if live else None,
                    versions=[_version_out(r) for r in rows] if with_versions else None,
                    needs_reapproval=_stale(stale))


@router.get("/blocks", response_model=list[BlockOut], summary="Every block and layout",
            responses=problem_responses(401, 403))
def blocks(services: Services, _principal: MarketingOrAuditor) -> list[BlockOut]:
    with services.unit_of_work() as session:
        return [_block_out(b, list(block_versions(session, b)),
                           needs_reapproval(session, block_name(b)), with_versions=False)
                for b in list_blocks(session)]


@router.post("/blocks", status_code=201, response_model=BlockOut,
             summary="Create a block or layout with its first (live) version",
             responses=problem_responses(400, 401, 403, 409, 413, 422))
def create_block(body: BlockCreate, services: Services, principal: Marketing,
                 guard: MarketingIdempotency) -> Response:
    """The source must compile. A block is live at once for drafts and previews; a
    template sends it only once a version including it is approved."""
    with services.unit_of_work() as session:
        if any(b.key == body.key for b in list_blocks(session)):
            raise ConflictError(f"block {body.key!r} already exists; add a version instead")
        block = ensure_block(session, body.key, body.kind, body.description)
        add_block_version(session, block, body.source, published=True, author=principal.name)
        out = _block_out(block, list(block_versions(session, block)), [], with_versions=True)
        return guard.keep(session, JSONResponse(out.model_dump(mode="json"), status_code=201))


@router.get("/blocks/{key}", response_model=BlockOut,
            summary="A block, its versions and the templates pinned to older ones",
            responses=problem_responses(401, 403, 404))
def block(key: str, services: Services, _principal: MarketingOrAuditor) -> BlockOut:
    with services.unit_of_work() as session:
        row = get_block(session, key)
        return _block_out(row, list(block_versions(session, row)),
                          needs_reapproval(session, block_name(row)), with_versions=True)


@router.post("/blocks/{key}/versions", status_code=201, response_model=BlockOut,
             summary="Change a block: a new live version, and the templates to re-approve",
             responses=problem_responses(400, 401, 403, 404, 409, 413, 422))
def add_block_version_route(key: str, body: BlockVersionIn, services: Services,
                            principal: Marketing, guard: MarketingIdempotency) -> Response:
    """Published template versions keep the block version they were approved with; the
    reply's `needs_reapproval` lists them."""
    with services.unit_of_work() as session:
        row = get_block(session, key)
        add_block_version(session, row, body.source, published=True, author=principal.name)
        out = _block_out(row, list(block_versions(session, row)),
                         needs_reapproval(session, block_name(row)), with_versions=True)
        return guard.keep(session, JSONResponse(out.model_dump(mode="json"), status_code=201))


@router.get("/blocks/{key}/versions/{version}", response_model=BlockVersionOut,
            summary="One version of a block", responses=problem_responses(401, 403, 404, 422))
def block_version(key: str, version: VersionNumber, services: Services,
                  _principal: MarketingOrAuditor) -> BlockVersionOut:
    with services.unit_of_work() as session:
        for row in block_versions(session, get_block(session, key)):
            if row.version == version:
                return _version_out(row)
    raise NotFoundError(f"block {key!r} has no version {version}")


@router.delete("/blocks/{key}", status_code=204, response_class=Response,
               summary="Delete a block no template uses",
               responses=problem_responses(401, 403, 404, 409))
def delete_block_route(key: str, services: Services, _principal: Marketing) -> Response:
    """Refused (409 `block_in_use`, naming every user) while a template version that is
    not retired, or another block, includes it. Its versions are kept for the record."""
    with services.unit_of_work() as session:
        delete_block(session, get_block(session, key))
    return Response(status_code=204)


@router.get("/blocks/{key}/where-used", summary="Every template and block that includes a "
            "block", responses=problem_responses(401, 403, 404))
def block_where_used(key: str, services: Services, _principal: MarketingOrAuditor
                     ) -> dict[str, Any]:
    """Template versions (any status) whose bodies include the block, directly or through
    a layout or another block, with the channels concerned; the blocks including it; and
    the templates pinned to an older version of it, which need re-approval to take the
    live one up."""
    with services.unit_of_work() as session:
        name = block_include_name(session, key)
        usage = where_used(session, name)
        stale = needs_reapproval(session, name)
    return {"block": usage.block, "included_by_blocks": list(usage.blocks),
            "templates": [{"template": u.template, "version": u.version, "status": u.status,
                           "channels": list(u.channels), "via": u.via}
                          for u in usage.templates],
            "needs_reapproval": [s.model_dump() for s in _stale(stale)]}
