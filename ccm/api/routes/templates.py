"""``/v1/templates``: the template registry — templates, their versions, drafts edited,
diffs and lint — for marketing (auditors may read). The lifecycle steps and previews
have modules of their own."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from ccm.api.deps import Marketing, MarketingIdempotency, MarketingOrAuditor, Services
from ccm.api.routes.brands import VersionNumber, VersionSummary, summary
from ccm.api.schemas import problem_responses
from ccm.brand.models import Brand
from ccm.db.base import as_utc
from ccm.errors import ApprovalRequiredError
from ccm.templates.diff import diff_versions
from ccm.templates.lifecycle import (
    create_draft,
    edit_draft,
)
from ccm.templates.lint import LintFinding, lint_version
from ccm.templates.models import Template, TemplateKind, TemplateVersion
from ccm.templates.service import (
    TemplateContent,
    create_template,
    get_template,
    get_template_version,
    list_template_versions,
    list_templates,
    parse_kind,
)

router = APIRouter(tags=["templates"])

CONTENT_EXAMPLE: dict[str, Any] = {
    "journey": "utility-customer",
    "stage": "payment-reminder",
    "default_locale": "en_GB",
    "bodies": {"sms": "Hello {{ name }}, your bill {{ invoice }} is due on "
                      "{{ due | date }}. {{ brand.company_name }}"},
    "data_schema": {"type": "object", "required": ["name", "invoice", "due"],
                    "properties": {"name": {"type": "string"},
                                   "invoice": {"type": "string"},
                                   "due": {"type": "string", "format": "date"}}},
    "sample_data": {"name": "Ada", "invoice": "NW-2026-0001", "due": "2026-12-04"},
}


class TemplateVersionIn(BaseModel):
    """What a version holds: a body per channel, its data schema and sample data."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [CONTENT_EXAMPLE]})

    journey: str = Field(description="Journey key of the stage tag.")
    stage: str = Field(description="Stage key of the stage tag.")
    bodies: dict[str, str] = Field(description="Jinja source per channel: pdf, html, email, "
                                               "email_text, sms.")
    default_locale: str = "en_GB"
    subject: str | None = Field(default=None, description="Email subject (Jinja).")
    data_schema: dict[str, Any]
    sample_data: dict[str, Any] = Field(default_factory=dict)
    translations: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="Per locale: gettext messages {msgid: msgstr}.")
    sms_max_segments: int | None = Field(default=None, ge=1)
    email_attach_pdf: bool = Field(default=False, description="Emails carry the PDF "
                                   "rendering as an attachment.")

    def content(self) -> TemplateContent:
        return TemplateContent(
            journey_key=self.journey, stage_key=self.stage, bodies=dict(self.bodies),
            default_locale=self.default_locale, subject=self.subject,
            data_schema=self.data_schema, sample_data=self.sample_data,
            translations=self.translations, sms_max_segments=self.sms_max_segments,
            email_attach_pdf=self.email_attach_pdf)


class TemplateVersionCreate(TemplateVersionIn):
    publish: bool = Field(default=False, description="Kept for older clients: `true` is "
                          "refused (409 `approval_required`); a version is published only "
                          "after review and another person's approval.")


class TemplateCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "key": "payment-reminder-sms", "kind": "notice", "brand": "northwind",
        "description": "A short reminder", "version": CONTENT_EXAMPLE}]})

    key: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,99}$")
    kind: TemplateKind
    brand: str
    description: str = ""
    version: TemplateVersionIn
    publish: bool = Field(default=False, description="Kept for older clients: `true` is "
                          "refused (409 `approval_required`).")


class TemplateOut(BaseModel):
    key: str
    kind: str
    brand: str
    description: str
    published_version: int | None
    versions: list[VersionSummary]


class LintFindingOut(BaseModel):
    part: str = Field(description="Where: `bodies/<channel>`.")
    line: int | None = Field(description="1-based line in that part, if it has one.")
    rule: str
    message: str


class TemplateVersionOut(TemplateVersionIn):
    model_config = ConfigDict(extra="forbid")

    template: str
    kind: str
    version: int
    status: str = Field(description="draft, in_review, approved, published or retired.")
    created_by: str | None = Field(description="The author (an API key's name).")
    block_pins: dict[str, int] | None = Field(
        description="Block and layout versions this version was submitted and approved "
                    "with (what it is sent with); null for drafts.")
    created_at: datetime
    published_at: datetime | None
    lint: list[LintFindingOut] | None = Field(
        default=None, description="On saves: the brand lint's findings (a draft with "
                                  "findings cannot go to review).")


def template_out(template: Template, brand_key: str, versions: list[TemplateVersion]
                 ) -> TemplateOut:
    published = [v.version for v in versions if v.status.value == "published"]
    return TemplateOut(key=template.key, kind=template.kind.value, brand=brand_key,
                       description=template.description,
                       published_version=max(published) if published else None,
                       versions=[summary(v) for v in versions])


def version_out(row: TemplateVersion, lint: list[LintFinding] | None = None
                ) -> TemplateVersionOut:
    return TemplateVersionOut(
        template=row.template.key, kind=row.template.kind.value, version=row.version,
        status=row.status.value, created_by=row.created_by, block_pins=row.block_pins,
        lint=None if lint is None else [LintFindingOut(part=f.part, line=f.line, rule=f.rule,
                                                       message=f.message) for f in lint],
        created_at=as_utc(row.created_at),
        published_at=as_utc(row.published_at), journey=row.journey_key, stage=row.stage_key,
        bodies=dict(row.bodies), default_locale=row.default_locale, subject=row.subject,
        data_schema=row.data_schema, sample_data=row.sample_data,
        translations=row.translations, sms_max_segments=row.sms_max_segments,
        email_attach_pdf=row.email_attach_pdf)


def _brand_key(session: Session, template: Template) -> str:
    brand = session.get(Brand, template.brand_id)
    assert brand is not None
    return brand.key


def created_reply(request: Request, row: TemplateVersion,
             lint: list[LintFinding] | None = None) -> JSONResponse:
    url = str(request.url_for("get_template_version_route", key=row.template.key,
                              version=row.version))
    return JSONResponse(version_out(row, lint).model_dump(mode="json"), status_code=201,
                        headers={"Location": url})


def _refuse_direct_publish(publish: bool) -> None:
    if publish:
        raise ApprovalRequiredError(
            "a version cannot be published as it is created: save it as a draft, submit it "
            "for review, and have another person approve it")


@router.get("/templates", response_model=list[TemplateOut], summary="All templates",
            responses=problem_responses(401, 403))
def templates(services: Services, _principal: MarketingOrAuditor,
              kind: TemplateKind | None = None, brand: str | None = None) -> list[TemplateOut]:
    with services.unit_of_work() as session:
        return [template_out(t, _brand_key(session, t),
                             list(list_template_versions(session, t.key)))
                for t in list_templates(session, kind=kind, brand_key=brand)]


@router.post("/templates", status_code=201, response_model=TemplateVersionOut,
             summary="Create a template with its first version",
             responses=problem_responses(400, 401, 403, 404, 409, 413, 422))
def create_template_route(body: TemplateCreate, request: Request, services: Services,
                          principal: Marketing, guard: MarketingIdempotency) -> Response:
    """The version is validated: its sample data must render on every channel it has. It
    is a draft by the caller; the response carries its lint findings."""
    _refuse_direct_publish(body.publish)
    with services.unit_of_work() as session:
        template = create_template(session, body.key, parse_kind(body.kind.value), body.brand,
                                   body.description)
        row, findings = create_draft(session, template, body.version.content(),
                                     principal.name)
        return guard.keep(session, created_reply(request, row, findings))


@router.get("/templates/{key}", response_model=TemplateOut,
            summary="One template and its versions", responses=problem_responses(401, 403, 404))
def template(key: str, services: Services, _principal: MarketingOrAuditor) -> TemplateOut:
    with services.unit_of_work() as session:
        row = get_template(session, key)
        return template_out(row, _brand_key(session, row),
                            list(list_template_versions(session, key)))


@router.get("/templates/{key}/versions", response_model=list[TemplateVersionOut],
            summary="A template's versions", responses=problem_responses(401, 403, 404))
def template_versions(key: str, services: Services, _principal: MarketingOrAuditor
                      ) -> list[TemplateVersionOut]:
    with services.unit_of_work() as session:
        return [version_out(v) for v in list_template_versions(session, key)]


@router.post("/templates/{key}/versions", status_code=201, response_model=TemplateVersionOut,
             summary="Add a version: a draft by the caller, with its lint findings",
             responses=problem_responses(400, 401, 403, 404, 409, 413, 422))
def create_template_version(key: str, body: TemplateVersionCreate, request: Request,
                            services: Services, principal: Marketing,
                            guard: MarketingIdempotency) -> Response:
    _refuse_direct_publish(body.publish)
    with services.unit_of_work() as session:
        row, findings = create_draft(session, get_template(session, key), body.content(),
                                     principal.name)
        return guard.keep(session, created_reply(request, row, findings))


@router.put("/templates/{key}/versions/{version}", response_model=TemplateVersionOut,
            summary="Replace a draft's content (drafts only)",
            responses=problem_responses(400, 401, 403, 404, 409, 413, 422))
def edit_template_version(key: str, version: VersionNumber, body: TemplateVersionIn,
                          services: Services, principal: Marketing) -> TemplateVersionOut:
    """Validated as on creation; the response carries the lint findings. A version in
    review, approved or published never changes (409 `immutable_version`)."""
    with services.unit_of_work() as session:
        row = get_template_version(session, key, version, published_only=False)
        findings = edit_draft(session, row, body.content(), principal.name)
        return version_out(row, findings)


@router.get("/templates/{key}/versions/{version}", response_model=TemplateVersionOut,
            name="get_template_version_route", summary="One template version",
            responses=problem_responses(401, 403, 404))
def template_version(key: str, version: VersionNumber, services: Services,
                     _principal: MarketingOrAuditor) -> TemplateVersionOut:
    with services.unit_of_work() as session:
        return version_out(get_template_version(session, key, version, published_only=False))


@router.get("/templates/{key}/diff", summary="What changed between two versions",
            responses=problem_responses(401, 403, 404, 422))
def diff_template_versions(
    key: str, services: Services, _principal: MarketingOrAuditor,
    from_version: Annotated[int, Query(alias="from", ge=1, description="The older version.")],
    to_version: Annotated[int, Query(alias="to", ge=1, description="The newer version.")],
) -> dict[str, Any]:
    """Bodies, subject, schema, sample data, translations and settings, each that differs
    as a unified diff; drafts included."""
    with services.unit_of_work() as session:
        old = get_template_version(session, key, from_version, published_only=False)
        new = get_template_version(session, key, to_version, published_only=False)
        changes = diff_versions(old, new)
    return {"template": key, "from": from_version, "to": to_version,
            "changes": [{"part": c.part, "diff": c.diff} for c in changes]}


@router.get("/templates/{key}/versions/{version}/lint",
            summary="Brand governance findings for a version",
            responses=problem_responses(401, 403, 404, 422))
def lint_template_version(key: str, version: int, services: Services,
                          _principal: MarketingOrAuditor) -> dict[str, Any]:
    """Off-brand colours and fonts and outside images with their line, and a bill or
    letter without the legal footer; drafts included."""
    with services.unit_of_work() as session:
        findings = lint_version(session, get_template_version(session, key, version,
                                                              published_only=False))
    return {"template": key, "version": version, "passes": not findings,
            "findings": [{"part": f.part, "line": f.line, "rule": f.rule,
                          "message": f.message} for f in findings]}
