"""``/v1/templates/{key}/versions/{version}/translations``: what a version leaves
untranslated, per locale (marketing; auditors may read)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from ccm.api.deps import MarketingOrAuditor, Services
from ccm.api.routes.brands import VersionNumber
from ccm.api.schemas import problem_responses
from ccm.i18n.report import report_json, version_report

router = APIRouter(tags=["templates"])


class MissingOut(BaseModel):
    msgid: str
    plural: str | None = Field(description="The plural msgid of an ngettext message.")
    part: str = Field(description="Where it is first used: a body (`pdf`, `email`, …), "
                                  "`subject`, or a shared block (`block/payment-slip`).")
    line: int


class LocaleOut(BaseModel):
    locale: str
    catalog_chain: list[str] = Field(description="The catalogs the locale's fallback chain "
                                                 "finds, in lookup order (`de_AT`, `de`).")
    translated: int
    answered_by: dict[str, int] = Field(description="Messages each catalog answers; "
                                                    "`template`: the template's own text.")
    missing: list[MissingOut]


class TranslationReportOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "template": "utility-bill", "version": 1, "status": "published",
        "default_locale": "en_GB", "messages": 2,
        "locales": [{"locale": "de_AT", "catalog_chain": ["de"], "translated": 1,
                     "answered_by": {"de": 1},
                     "missing": [{"msgid": "Your credit", "plural": None, "part": "pdf",
                                  "line": 20}]}]}]})

    template: str
    version: int
    status: str
    default_locale: str
    messages: int = Field(description="Translatable messages in the bodies, subject and "
                                      "the blocks they include.")
    locales: list[LocaleOut]


@router.get("/templates/{key}/versions/{version}/translations",
            response_model=TranslationReportOut,
            summary="Untranslated messages of a template version, per locale",
            responses=problem_responses(401, 403, 404))
def template_translations(
    key: str, version: VersionNumber, services: Services, _principal: MarketingOrAuditor,
    locale: Annotated[list[str] | None, Query(
        description="Also report this locale (repeatable), e.g. `de_AT` without a catalog "
                    "of its own.")] = None,
) -> TranslationReportOut:
    """For each locale the version has a catalog for, and each `locale` asked for: the
    messages its fallback chain (`de_AT` → `de`) does not translate, with the body and
    line they are first used on. Any version, drafts included; shared blocks as live."""
    with services.unit_of_work() as session:
        report = version_report(session, key, version, locale or [])
    return TranslationReportOut.model_validate(report_json(report))
