"""``/v1/journeys``: journey definitions, versioned like templates (marketing)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query
from fastapi.responses import JSONResponse

from ccm.api.deps import Marketing, MarketingOrAuditor, Services
from ccm.api.schemas import problem_responses
from ccm.db.base import as_utc
from ccm.journeys.models import JourneyVersion
from ccm.journeys.service import (
    add_journey_version,
    get_journey,
    get_journey_version,
    journey_versions,
    list_journeys,
    publish_journey_version,
)
from ccm.stock import STOCK_DIR

router = APIRouter(tags=["journeys"])


def _example() -> dict[str, Any]:
    import yaml

    loaded: dict[str, Any] = yaml.safe_load(
        (STOCK_DIR / "journeys" / "utility-customer.yaml").read_text(encoding="utf-8"))
    return loaded


def version_json(row: JourneyVersion, *, definition: bool = True) -> dict[str, Any]:
    value: dict[str, Any] = {
        "journey": row.journey.key, "version": row.version, "status": row.status.value,
        "created_at": as_utc(row.created_at).isoformat(),
        "published_at": as_utc(row.published_at).isoformat() if row.published_at else None}
    if definition:
        value["definition"] = row.definition
    return value


@router.get("/journeys", summary="Every journey and its live version",
            responses=problem_responses(401, 403))
def get_journeys(services: Services, _principal: MarketingOrAuditor) -> list[dict[str, Any]]:
    with services.unit_of_work() as session:
        reply = []
        for journey in list_journeys(session):
            versions = journey_versions(session, journey.key)
            published = [v.version for v in versions if v.status.value == "published"]
            reply.append({"key": journey.key, "name": journey.name,
                          "published_version": max(published) if published else None,
                          "versions": [version_json(v, definition=False) for v in versions]})
        return reply


@router.post("/journeys", status_code=201, summary="Add a journey, or a new version of one",
             responses=problem_responses(400, 401, 403, 409, 413, 422))
def post_journey(
    services: Services, _principal: Marketing,
    body: Annotated[dict[str, Any], Body(
        description="The definition (the same as a registry folder's journeys/<key>.yaml).",
        openapi_examples={"stock": {"summary": "The stock utility journey",
                                    "value": _example()}})],
    publish: Annotated[bool, Query(description="Publish at once (else a draft).")] = False,
) -> JSONResponse:
    """Checked in full first: every problem (unknown template or stage, a template whose
    stage tag does not match, an unreachable stage, a condition that does not compile) is
    named in one 422 reply. A definition equal to the latest version makes no new one."""
    with services.unit_of_work() as session:
        row, created = add_journey_version(session, body, publish_now=publish)
        reply = version_json(row)
    return JSONResponse(reply, status_code=201 if created else 200)


@router.get("/journeys/{key}", summary="A journey's versions",
            responses=problem_responses(401, 403, 404))
def get_journey_versions(key: str, services: Services, _principal: MarketingOrAuditor
                         ) -> dict[str, Any]:
    with services.unit_of_work() as session:
        journey = get_journey(session, key)
        return {"key": journey.key, "name": journey.name,
                "versions": [version_json(v, definition=False)
                             for v in journey_versions(session, key)]}


@router.get("/journeys/{key}/versions/{version}", summary="One version of a journey",
            responses=problem_responses(401, 403, 404))
def get_one_journey_version(key: str, version: int, services: Services,
                            _principal: MarketingOrAuditor) -> dict[str, Any]:
    with services.unit_of_work() as session:
        return version_json(get_journey_version(session, key, version, published_only=False))


@router.post("/journeys/{key}/versions/{version}/publish", summary="Publish a journey version",
             responses=problem_responses(401, 403, 404, 409, 422))
def publish_journey(key: str, version: int, services: Services, _principal: Marketing
                    ) -> dict[str, Any]:
    """The latest published version is the live one: events are matched against it."""
    with services.unit_of_work() as session:
        return version_json(publish_journey_version(session, key, version))
