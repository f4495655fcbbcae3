"""``/v1/templates/{key}/…``: a version's way to customers — submit, approve, request
changes, publish, retire, roll back — and its history. The caller is who takes the step
(marketing; auditors may read the history)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from ccm.api.deps import Marketing, MarketingIdempotency, MarketingOrAuditor, Services
from ccm.api.routes.brands import VersionNumber
from ccm.api.routes.templates import TemplateVersionOut, created_reply, version_out
from ccm.api.schemas import problem_responses
from ccm.db.base import as_utc
from ccm.templates.lifecycle import (
    approve,
    history,
    publish_version,
    request_changes,
    retire,
    roll_back,
    submit_for_review,
)
from ccm.templates.service import get_template, get_template_version

router = APIRouter(tags=["templates"])

STEP_EXAMPLE: dict[str, Any] = {"comment": "Headline approved by legal"}


class LifecycleStep(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [STEP_EXAMPLE]})

    comment: str = Field(default="", max_length=2000)


class RollbackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"to_version": 1, "comment": "The new headline confused customers"}]})

    to_version: int = Field(ge=1, description="The published (or retired) version whose "
                                              "content is published again.")
    comment: str = Field(default="", max_length=2000)


class ActionOut(BaseModel):
    action: str = Field(description="created, edited, imported, submitted, approved, "
                                    "changes_requested, published, retired, rolled_back.")
    actor: str
    comment: str
    from_status: str | None
    to_status: str
    at: datetime


def _lifecycle_route(path: str, summary: str, step: Any, description: str,
                     statuses: tuple[int, ...] = (400, 401, 403, 404, 409, 413, 422)) -> None:
    """One lifecycle step as a POST route: the caller is who takes it."""

    def route(key: str, version: VersionNumber, services: Services, principal: Marketing,
              guard: MarketingIdempotency,
              body: Annotated[LifecycleStep | None, Body(examples=[STEP_EXAMPLE])] = None,
              ) -> Response:
        with services.unit_of_work() as session:
            row = get_template_version(session, key, version, published_only=False)
            step(session, row, principal.name, (body or LifecycleStep()).comment)
            return guard.keep(session, JSONResponse(version_out(row).model_dump(mode="json")))

    route.__doc__ = description
    router.post(f"/templates/{{key}}/versions/{{version}}/{path}",
                response_model=TemplateVersionOut, summary=summary,
                name=f"template_{path.replace('-', '_')}",
                responses=problem_responses(*statuses))(route)


_lifecycle_route("submit", "Submit a draft for review", submit_for_review,
                 "Draft → in review. Refused with 422 `lint_failed` (and the findings) "
                 "while the brand lint has findings. Pins the block and layout versions "
                 "it reaches: the reviewer sees what would be sent.")
_lifecycle_route("approve", "Approve a version in review (not its author)", approve,
                 "In review → approved, by someone who wrote none of it (409 `four_eyes` "
                 "for its author or an editor). What was approved, with its pinned blocks, "
                 "is what is sent.")
_lifecycle_route("request-changes", "Send a version back to its author", request_changes,
                 "In review or approved → draft, with the reviewer's comment.")
_lifecycle_route("publish", "Publish an approved version (it is sent from now on)",
                 publish_version, "Approved → published. A draft or a version in review is "
                 "refused with 409 `approval_required`.")
_lifecycle_route("retire", "Retire a published version", retire,
                 "Published → retired: no longer sent; the previous published version is "
                 "live again if there is one.")


@router.post("/templates/{key}/rollback", status_code=201, response_model=TemplateVersionOut,
             summary="Publish an earlier version's content as a new version",
             responses=problem_responses(400, 401, 403, 404, 409, 413, 422))
def rollback_template(key: str, body: RollbackRequest, request: Request, services: Services,
                      principal: Marketing, guard: MarketingIdempotency) -> Response:
    """The new version has the earlier one's content and the block versions it was
    approved with; it is published at once (that content was approved)."""
    with services.unit_of_work() as session:
        row = roll_back(session, get_template(session, key), body.to_version, principal.name,
                        body.comment)
        return guard.keep(session, created_reply(request, row))


@router.get("/templates/{key}/versions/{version}/history", response_model=list[ActionOut],
            summary="Every lifecycle action on a version: who, when, comment",
            responses=problem_responses(401, 403, 404, 422))
def template_version_history(key: str, version: VersionNumber, services: Services,
                             _principal: MarketingOrAuditor) -> list[ActionOut]:
    with services.unit_of_work() as session:
        row = get_template_version(session, key, version, published_only=False)
        return [ActionOut(action=a.action, actor=a.actor, comment=a.comment,
                          from_status=a.from_status, to_status=a.to_status, at=as_utc(a.at))
                for a in history(session, row)]
