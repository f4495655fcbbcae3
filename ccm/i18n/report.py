"""What a stored template version leaves untranslated, per locale.

A message counts as translated for a locale when rendering would find a translation for
it along the locale's chain (``de_AT`` -> ``de``), exactly as :mod:`ccm.rendering.i18n`
looks: the first catalog holding the msgid answers, and a plural message needs all its
forms. In the template's own language (``en_US`` for an ``en_GB`` template) the template
text answers what no catalog does.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ccm.brand.tokens import check_locale, locale_chain
from ccm.errors import InputError
from ccm.i18n.extract import ExtractedMessage, Occurrence, TemplateSource, extract_messages
from ccm.templates.models import Template, TemplateVersion
from ccm.templates.service import get_template_version, template_spec
from ccm.versioning import VersionStatus

#: What answers a message no catalog translates, in the template's own language.
TEMPLATE_TEXT = "template"


@dataclass(frozen=True)
class MissingTranslation:
    """A message a locale's chain does not translate, and where it is first used."""

    msgid: str
    plural: str | None
    occurrences: tuple[Occurrence, ...]

    @property
    def part(self) -> str:
        return self.occurrences[0].part

    @property
    def line(self) -> int:
        return self.occurrences[0].line


@dataclass(frozen=True)
class LocaleCoverage:
    """How one locale fares: the catalogs its chain finds, what each answered, what is missing."""

    locale: str
    catalog_chain: tuple[str, ...]
    answered_by: Mapping[str, str]  # msgid -> the catalog (or TEMPLATE_TEXT) that answers
    missing: tuple[MissingTranslation, ...]

    @property
    def translated(self) -> int:
        return len(self.answered_by)

    @property
    def own_catalog(self) -> bool:
        return self.locale in self.catalog_chain

    def answers(self) -> dict[str, int]:
        """Messages answered per catalog."""
        return dict(sorted(Counter(self.answered_by.values()).items()))


@dataclass(frozen=True)
class TranslationReport:
    template: str
    version: int
    status: str
    default_locale: str
    messages: int
    locales: tuple[LocaleCoverage, ...]

    @property
    def complete(self) -> bool:
        return not any(c.missing for c in self.locales)


def _answer(message: ExtractedMessage, chain: Sequence[tuple[str, Mapping[str, Any]]]
            ) -> str | None:
    for name, catalog in chain:
        found = catalog.get(message.msgid)
        if not found:
            continue
        if message.plural is None:
            translated = isinstance(found, str) or bool(found[0])
        else:
            translated = isinstance(found, list | tuple) and all(found)
        return name if translated else None  # rendering stops at the first catalog holding it
    return None


def locale_coverage(messages: Iterable[ExtractedMessage],
                    translations: Mapping[str, Mapping[str, Any]], locale: str,
                    default_locale: str) -> LocaleCoverage:
    """The coverage of ``locale`` over ``messages`` given a version's ``translations``."""
    names = [c for c in locale_chain(locale) if c in translations]
    chain = [(name, translations[name]) for name in names]
    own_language = locale_chain(locale)[-1] == locale_chain(default_locale)[-1]
    answered: dict[str, str] = {}
    missing: list[MissingTranslation] = []
    for message in messages:
        answer = _answer(message, chain) or (TEMPLATE_TEXT if own_language else None)
        if answer is None:
            missing.append(MissingTranslation(message.msgid, message.plural,
                                              message.occurrences))
        else:
            answered[message.msgid] = answer
    return LocaleCoverage(locale, tuple(names), answered, tuple(missing))


def check_locales(locales: Iterable[str]) -> list[str]:
    checked: list[str] = []
    for locale in locales:
        try:
            checked.append(check_locale(locale))
        except ValueError as exc:
            raise InputError(str(exc)) from None
    return checked


def source_report(template: str, version: int, status: str, default_locale: str,
                  source: TemplateSource, translations: Mapping[str, Mapping[str, Any]],
                  locales: Iterable[str] = ()) -> TranslationReport:
    """The report over plain content: each catalog's locale, then ``locales`` asked for."""
    messages = extract_messages(source)
    wanted = list(dict.fromkeys([*sorted(translations), *check_locales(locales)]))
    return TranslationReport(
        template, version, status, default_locale, len(messages),
        tuple(locale_coverage(messages, translations, locale, default_locale)
              for locale in wanted))


def version_report(session: Session, key: str, version: int,
                   locales: Iterable[str] = ()) -> TranslationReport:
    """The report for one stored version (any status), with the blocks it renders with
    (those it was approved with, or the live ones for a draft)."""
    row = get_template_version(session, key, version, published_only=False)
    return _row_report(session, key, row, locales)


def _row_report(session: Session, key: str, row: TemplateVersion, locales: Iterable[str]
                ) -> TranslationReport:
    spec = template_spec(session, row)
    source = TemplateSource(spec.bodies, spec.subject, spec.blocks)
    return source_report(key, row.version, row.status.value, row.default_locale, source,
                         row.translations, locales)


def registry_report(session: Session, locales: Iterable[str] = (),
                    template: str | None = None) -> list[TranslationReport]:
    """Every template's latest published version (or just ``template``'s), by key."""
    wanted = check_locales(locales)
    keys = [template] if template is not None else list(session.scalars(
        select(Template.key).join(TemplateVersion, TemplateVersion.template_id == Template.id)
        .where(TemplateVersion.status == VersionStatus.PUBLISHED)
        .distinct().order_by(Template.key)))
    return [_row_report(session, key, get_template_version(session, key), wanted)
            for key in keys]


def report_json(report: TranslationReport) -> dict[str, Any]:
    """The report as the API and ``ccm i18n report --json`` give it."""
    return {
        "template": report.template, "version": report.version, "status": report.status,
        "default_locale": report.default_locale, "messages": report.messages,
        "locales": [{
            "locale": c.locale, "catalog_chain": list(c.catalog_chain),
            "translated": c.translated, "answered_by": c.answers(),
            "missing": [{"msgid": m.msgid, "plural": m.plural, "part": m.part, "line": m.line}
                        for m in c.missing],
        } for c in report.locales],
    }
