"""Rendering: (template version, brand version, data, locale, channel) -> RenderedDocument.

:func:`render` is a pure function of its inputs: the same inputs give the same bytes. The
:class:`Renderer` behind it only caches what is safe to cache (compiled templates keyed
by the digest of their source, parsed brand stylesheets keyed by the brand's fingerprint,
decoded registry images keyed by their SHA-256).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from itertools import islice
from typing import Any

import css_inline
import jinja2
from jinja2 import BaseLoader, StrictUndefined

from ccm.brand.stylesheet import asset_url, brand_css
from ccm.brand.tokens import check_locale
from ccm.canonical import canonical_digest
from ccm.config import get_settings
from ccm.errors import (
    CCMError,
    InputError,
    RenderBudgetExceededError,
    RenderError,
    SandboxViolationError,
    TemplateDataError,
    TemplateSyntaxError,
)
from ccm.inputs import validate_data
from ccm.rendering import markup as html_markup
from ccm.rendering.filters import CURRENCY_VAR, FILTERS, LOCALE_VAR
from ccm.rendering.i18n import gettext_functions
from ccm.rendering.pdf import PdfRenderer
from ccm.rendering.sandbox import BudgetedSandbox, RenderBudget, current_budget
from ccm.rendering.sanitise import Rewriter
from ccm.rendering.sms import analyse_sms, check_segment_limit, normalise_sms_text
from ccm.rendering.spec import (
    MEDIA_TYPES,
    AssetData,
    BrandSpec,
    Channel,
    InlineImage,
    RenderedDocument,
    TemplateSpec,
)
from ccm.rendering.static_markup import MarkupPlan, plan_markup, rewrite_attributes
from ccm.rendering.text import html_to_text

#: Names the render puts in every template's context; a data schema cannot use them.
RESERVED_NAMES = frozenset(
    {"brand", "doc", "gettext", "ngettext", "_", LOCALE_VAR, CURRENCY_VAR, "range", "loop"}
)

_SUFFIX = {"pdf": ".html", "html": ".html", "email": ".html", "email_text": ".txt",
           "sms": ".txt", "subject": ".txt"}

#: Logical name -> stored name, for the render running in this thread or task.
_current_names: ContextVar[Mapping[str, str] | None] = ContextVar("ccm_template_names",
                                                               default=None)


def _digest(source: str) -> str:
    return hashlib.sha256(source.encode()).hexdigest()[:24]


class _SourceStore(BaseLoader):
    """Template sources by content-addressed name (``block/footer@<digest>.html``).

    Because a name carries the digest of its source, a compiled template in Jinja's cache
    can never be stale, whichever block or template version is being rendered.
    """

    def __init__(self) -> None:
        self._sources: dict[str, str] = {}
        self._lock = threading.Lock()

    def add(self, logical: str, source: str, suffix: str) -> str:
        name = f"{logical}@{_digest(source)}{suffix}"
        if name not in self._sources:
            with self._lock:
                self._sources[name] = source
        return name

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str | None, Callable[[], bool] | None]:
        source = self._sources.get(template)
        if source is None:
            raise jinja2.TemplateNotFound(template)
        return source, None, lambda: True


class _Environment(BudgetedSandbox):
    def join_path(self, template: str, parent: str) -> str:
        # Includes name blocks logically ("block/letterhead"); the render maps the name to
        # the block version it was given.
        return (_current_names.get() or {}).get(template, template)


def _display_name(name: str | None) -> str:
    return (name or "template").split("@", 1)[0]


@contextmanager
def _template_errors(name: str) -> Iterator[None]:
    """Jinja's and Python's errors inside a template, as ccm errors naming the template."""
    try:
        yield
    except CCMError:
        raise
    except jinja2.TemplateSyntaxError as exc:
        where = _display_name(exc.name or name)
        raise TemplateSyntaxError(
            f"{where}, line {exc.lineno}: {exc.message}", template=where, line=exc.lineno
        ) from exc
    except jinja2.TemplateNotFound as exc:
        raise TemplateSyntaxError(
            f"{_display_name(name)} includes {exc.name!r}, which is not in the registry",
            template=_display_name(name),
        ) from exc
    except jinja2.exceptions.SecurityError as exc:
        raise SandboxViolationError(f"{_display_name(name)}: {exc}") from exc
    except jinja2.UndefinedError as exc:
        raise TemplateDataError(f"{_display_name(name)}: {exc.message}") from exc
    except (RecursionError, MemoryError) as exc:
        raise RenderBudgetExceededError(
            f"{_display_name(name)}: template recursed or allocated too much "
            f"({type(exc).__name__})"
        ) from exc
    except Exception as exc:  # a template's own arithmetic or type error
        raise TemplateDataError(f"{_display_name(name)}: {type(exc).__name__}: {exc}") from exc


@dataclass(frozen=True)
class BudgetLimits:
    seconds: float = 5.0
    max_output_chars: int = 4_000_000

    def new(self) -> RenderBudget:
        return RenderBudget(seconds=self.seconds, max_output_chars=self.max_output_chars).start()


class Renderer:
    """Renders documents; one per process is enough (see :func:`default_renderer`)."""

    def __init__(self, limits: BudgetLimits | None = None) -> None:
        self.limits = limits or BudgetLimits()
        self._store = _SourceStore()
        self.env = _Environment(
            loader=self._store,
            undefined=StrictUndefined,
            autoescape=lambda name: not (name or "").endswith(".txt"),
            extensions=["jinja2.ext.i18n"],
            auto_reload=False,
            cache_size=2000,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.newstyle_gettext = True  # type: ignore[attr-defined]
        self.env.filters.update(FILTERS)
        self.env.guard_filters()
        self.pdf = PdfRenderer()
        self._inliner = css_inline.CSSInliner(keep_style_tags=False, load_remote_stylesheets=False)
        self._css_text: dict[tuple[str, str], str] = {}
        self._brand_contexts: dict[tuple[str, str, bool], dict[str, Any]] = {}
        #: What a render puts in the context besides the data, per (template version,
        #: brand version, locale, channel); its translation functions are trusted by the
        #: sandbox (see BudgetedSandbox.trust) while they are here.
        self._fixed_contexts: dict[tuple[str, str, str, Channel], dict[str, Any]] = {}
        self._fixed_lock = threading.Lock()
        self._names: dict[str, dict[str, str]] = {}
        self._plans: dict[tuple[str, Channel], MarkupPlan] = {}

    # -- public -------------------------------------------------------------------------

    def render(
        self,
        template: TemplateSpec,
        brand: BrandSpec,
        data: Mapping[str, Any],
        locale: str | None,
        channel: Channel | str,
        *,
        validate: bool = True,
    ) -> RenderedDocument:
        channel = _channel(channel, template)
        locale = _locale(locale or template.default_locale)
        # Data arrives from ccm.inputs with exact Decimal numbers (``normalise_numbers``
        # for data built elsewhere); the render reads it and never changes it.
        values: Mapping[str, Any] = data
        if validate and template.data_schema:
            validate_data(values, template.data_schema)
        warnings: list[str] = []
        names = self._register(template)
        token = _current_names.set(names)
        try:
            context = self._context(template, brand, values, locale, channel)
            body = self._evaluate(names[f"body/{channel.value}"], context)
            if channel is Channel.SMS:
                return self._finish_sms(template, brand, locale, body, warnings)
            if channel is Channel.PDF:
                return self._finish_pdf(template, brand, values, locale, body, warnings)
            if channel is Channel.HTML:
                return self._finish_html(template, brand, locale, body, warnings)
            subject = self._subject(template, names, context)
            explicit_text = (
                self._evaluate(names["body/email_text"], context)
                if "body/email_text" in names else None
            )
            return self._finish_email(
                template, brand, locale, body, subject, explicit_text, warnings
            )
        finally:
            _current_names.reset(token)

    def check_syntax(self, template: TemplateSpec) -> None:
        """Compile every body, subject and block; raise TemplateSyntaxError on the first error."""
        names = self._register(template)
        token = _current_names.set(names)
        try:
            for name in names.values():
                with _template_errors(name):
                    self.env.get_template(name)
        finally:
            _current_names.reset(token)

    # -- steps --------------------------------------------------------------------------

    def _register(self, template: TemplateSpec) -> dict[str, str]:
        """Store the template's sources; returns logical name -> content-addressed name."""
        cached = self._names.get(template.fingerprint)
        if cached is not None:
            return cached
        names: dict[str, str] = {}
        for logical, source in template.blocks.items():
            names[logical] = self._store.add(logical, source, ".html")
        for channel, source in template.bodies.items():
            suffix = _SUFFIX.get(channel, ".html")
            names[f"body/{channel}"] = self._store.add(
                f"template/{template.key}/{channel}", source, suffix
            )
        if template.subject:
            names["subject"] = self._store.add(
                f"template/{template.key}/subject", template.subject, ".txt"
            )
        if len(self._names) > 4096:
            self._names.clear()
        self._names[template.fingerprint] = names
        return names

    def markup_plan(self, template: TemplateSpec, channel: Channel) -> MarkupPlan:
        """How the HTML of ``template`` on ``channel`` is made safe (see
        :mod:`ccm.rendering.static_markup`); worked out once per template version."""
        key = (template.fingerprint, channel)
        plan = self._plans.get(key)
        if plan is None:
            names = self._register(template)
            sources = [(names[f"body/{channel.value}"], template.bodies[channel.value])]
            sources.extend((names[logical], source) for logical, source in template.blocks.items())
            plan = plan_markup(self.env, sources, template.translations)
            if len(self._plans) > 4096:
                self._plans.clear()
            self._plans[key] = plan
        return plan

    def _safe_markup(self, template: TemplateSpec, channel: Channel, body: str,
                     assets: Mapping[str, AssetData], rewrite_asset: Callable[[AssetData], str],
                     warnings: list[str]) -> str:
        plan = self.markup_plan(template, channel)
        if plan.static:
            return rewrite_attributes(body, plan, Rewriter(assets, rewrite_asset, warnings))
        return html_markup.rewrite_resources(body, dict(assets), rewrite_asset, warnings)

    def _context(
        self, template: TemplateSpec, brand: BrandSpec, data: Mapping[str, Any], locale: str,
        channel: Channel,
    ) -> dict[str, Any]:
        currency = data.get("currency") if isinstance(data.get("currency"), str) else None
        context: dict[str, Any] = dict(data)
        context.update(self._fixed_context(template, brand, locale, channel))
        context[CURRENCY_VAR] = currency or brand.tokens.currency
        return context

    def _fixed_context(self, template: TemplateSpec, brand: BrandSpec, locale: str,
                       channel: Channel) -> dict[str, Any]:
        """The context's names that do not depend on the data, in the order a render sets
        them (``ccm_currency`` is a placeholder the render fills in)."""
        key = (template.fingerprint, brand.fingerprint, locale, channel)
        fixed = self._fixed_contexts.get(key)
        if fixed is not None:
            return fixed
        with self._fixed_lock:
            fixed = self._fixed_contexts.get(key)
            if fixed is not None:
                return fixed
            if len(self._fixed_contexts) >= 4096:
                for old in self._fixed_contexts.values():
                    self.env.distrust(old["gettext"], old["ngettext"], old["_"])
                self._fixed_contexts.clear()
            functions = gettext_functions(template.translations, locale)
            fixed = dict(functions)
            fixed.update({
                LOCALE_VAR: locale,
                CURRENCY_VAR: None,
                "brand": self._brand_context(brand, locale, channel is Channel.EMAIL),
                "doc": {
                    "template": template.key,
                    "version": template.version,
                    "kind": template.kind,
                    "journey": template.journey_key,
                    "stage": template.stage_key,
                    "channel": channel.value,
                    "locale": locale,
                    "lang": locale.replace("_", "-"),
                },
            })
            self.env.trust(*dict.fromkeys(functions.values()))
            self._fixed_contexts[key] = fixed
            return fixed

    def _brand_context(self, brand: BrandSpec, locale: str, email: bool) -> dict[str, Any]:
        # Shared between renders: the sandbox is immutable, so templates cannot change it.
        key = (brand.fingerprint, locale, email)
        cached = self._brand_contexts.get(key)
        if cached is not None:
            return cached
        tokens = brand.tokens
        context = {
            "key": brand.key,
            "name": tokens.company_name,
            "company_name": tokens.company_name,
            "address": list(tokens.address),
            "contact": tokens.contact.model_dump(),
            "legal_footer": tokens.legal_text(locale),
            "logo_url": asset_url(tokens.logo.png if email else tokens.logo.svg),
            "palette": tokens.palette.model_dump(),
            "email_sender": tokens.email_sender.model_dump(),
            "sms_sender_id": tokens.sms_sender_id,
        }
        if len(self._brand_contexts) > 1024:
            self._brand_contexts.clear()
        self._brand_contexts[key] = context
        return context

    def _evaluate(self, name: str, context: dict[str, Any]) -> str:
        budget = self.limits.new()
        token = current_budget.set(budget)
        try:
            with _template_errors(name):
                compiled = self.env.get_template(name)
                parts: list[str] = []
                size, limit = 0, budget.max_output_chars
                chunks = compiled.root_render_func(compiled.new_context(context))
                # Output is counted a few chunks at a time: C-level slicing and summing keep
                # the accounting cheap, and a chunk is one bounded value, so the overrun
                # before the check is small.
                while batch := list(islice(chunks, 16)):
                    size += sum(map(len, batch))
                    if size > limit:
                        budget.spend_output(size)  # raises, naming the limit
                    parts.extend(batch)
                    budget.tick()
                return "".join(parts)
        finally:
            current_budget.reset(token)

    def _subject(self, template: TemplateSpec, names: dict[str, str],
                 context: dict[str, Any]) -> str | None:
        if "subject" not in names:
            return None
        return " ".join(self._evaluate(names["subject"], context).split()) or None

    def _css(self, brand: BrandSpec, medium: str) -> str:
        key = (brand.fingerprint, medium)
        css = self._css_text.get(key)
        if css is None:
            css = brand_css(brand.tokens, medium)  # type: ignore[arg-type]
            self._css_text[key] = css
        return css

    def _page_style(self, brand: BrandSpec) -> str:
        """The standalone page's style element, its font files inlined as data URLs."""
        key = (brand.fingerprint, "page-style")
        style = self._css_text.get(key)
        if style is None:
            css = html_markup.rewrite_stylesheet(
                self._css(brand, "screen"), dict(brand.assets), html_markup.data_url, []
            )
            style = self._css_text[key] = f"<style>{css}</style>"
        return style

    # -- channels -----------------------------------------------------------------------

    def _document(self, template: TemplateSpec, brand: BrandSpec, locale: str, channel: Channel,
                  content: bytes, warnings: list[str], **extra: Any) -> RenderedDocument:
        return RenderedDocument(
            channel=channel, content=content, media_type=MEDIA_TYPES[channel],
            sha256=hashlib.sha256(content).hexdigest(), locale=locale,
            template_key=template.key, template_version=template.version,
            brand_key=brand.key, brand_version=brand.version,
            block_versions=tuple(sorted(template.block_versions.items())),
            warnings=tuple(dict.fromkeys(warnings)), **extra,
        )

    def _finish_pdf(self, template: TemplateSpec, brand: BrandSpec, data: Mapping[str, Any],
                    locale: str, body: str, warnings: list[str]) -> RenderedDocument:
        stylesheet = self.pdf.stylesheet(
            f"{brand.fingerprint}:print", self._css(brand, "print"), brand.assets
        )
        identifier = hashlib.sha256(
            "|".join((template.fingerprint, brand.fingerprint, data_digest(data), locale))
            .encode()
        ).hexdigest()[:32].encode()
        result = self.pdf.render(
            body, stylesheet=stylesheet, assets=brand.assets, variant=template.pdf_variant,
            identifier=identifier, warnings=warnings,
        )
        return self._document(
            template, brand, locale, Channel.PDF, result.content, warnings,
            title=html_markup.document_title(body), page_count=result.page_count,
        )

    def _finish_html(self, template: TemplateSpec, brand: BrandSpec, locale: str, body: str,
                     warnings: list[str]) -> RenderedDocument:
        page = self._safe_markup(template, Channel.HTML, body, brand.assets,
                                 html_markup.data_url, warnings)
        page = html_markup.insert_head(page, self._page_style(brand))
        page = html_markup.open_head(page, html_markup.content_security_policy())
        return self._document(
            template, brand, locale, Channel.HTML, page.encode(), warnings,
            title=html_markup.document_title(body),
        )

    def _finish_email(self, template: TemplateSpec, brand: BrandSpec, locale: str, body: str,
                      subject: str | None, explicit_text: str | None,
                      warnings: list[str]) -> RenderedDocument:
        images: dict[str, InlineImage] = {}

        def to_cid(asset: AssetData) -> str:
            content_id = f"{asset.sha256[:16]}@ccm"
            images[content_id] = InlineImage(content_id, asset.sha256, asset.media_type)
            return f"cid:{content_id}"

        page = self._safe_markup(template, Channel.EMAIL, body, brand.assets, to_cid, warnings)
        text = explicit_text.strip() + "\n" if explicit_text else html_to_text(page)
        page = html_markup.insert_head(page, f"<style>{self._css(brand, 'email')}</style>")
        inlined = self._inliner.inline(page)
        title = html_markup.document_title(body)
        return self._document(
            template, brand, locale, Channel.EMAIL, inlined.encode(), warnings,
            title=title, subject=subject or title, text=text,
            inline_images=tuple(images.values()),
        )

    def _finish_sms(self, template: TemplateSpec, brand: BrandSpec, locale: str, body: str,
                    warnings: list[str]) -> RenderedDocument:
        # Babel separates thousands and currency with no-break spaces, which GSM-7 lacks.
        text = normalise_sms_text(body.replace("\u00a0", " ").replace("\u202f", " "))
        analysis = analyse_sms(text)
        check_segment_limit(analysis, template.sms_max_segments)
        return self._document(
            template, brand, locale, Channel.SMS, text.encode(), warnings,
            sms_encoding=analysis.encoding, sms_segments=analysis.segments,
            sms_characters=analysis.characters,
        )


def data_digest(data: Mapping[str, Any]) -> str:
    """SHA-256 of the data in canonical JSON (equal data, equal digest)."""
    return canonical_digest(data)


def _channel(channel: Channel | str, template: TemplateSpec) -> Channel:
    try:
        resolved = Channel(channel)
    except ValueError:
        raise InputError(
            f"unknown channel {channel!r}; expected one of {', '.join(c.value for c in Channel)}"
        ) from None
    if resolved.value not in template.bodies:
        declared = ", ".join(c.value for c in template.channels) or "none"
        raise RenderError(
            f"template {template.key!r} v{template.version} has no {resolved.value} body "
            f"(it declares: {declared})"
        )
    return resolved


def _locale(locale: str) -> str:
    try:
        return check_locale(locale)
    except ValueError as exc:
        raise InputError(str(exc)) from None


_default: Renderer | None = None
_default_lock = threading.Lock()


def default_renderer() -> Renderer:
    global _default
    with _default_lock:
        if _default is None:
            settings = get_settings()
            _default = Renderer(BudgetLimits(seconds=settings.render_timeout_seconds,
                                             max_output_chars=settings.render_max_output_bytes))
        return _default


def render(
    template: TemplateSpec,
    brand: BrandSpec,
    data: Mapping[str, Any],
    locale: str | None,
    channel: Channel | str,
) -> RenderedDocument:
    """Render one document with the process-wide :class:`Renderer`."""
    return default_renderer().render(template, brand, data, locale, channel)


__all__ = ["Renderer", "data_digest", "default_renderer", "render"]
