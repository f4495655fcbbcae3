"""Brand governance: what a template may not do, checked on its sources with line numbers.

- colours and font families come from the brand's tokens: a literal colour (hex, `rgb()`,
  `hsl()` and the other colour functions, a named colour) or a font family outside the
  brand (in `font-family` or after the size in the `font` shorthand) is reported where
  it stands — where CSS is: `style` attributes, `<style>`
  elements, the colour attributes (`color`, `bgcolor`, SVG `fill`, `stroke`) and
  `<font face>`. Text elsewhere ("Invoice #1234") is not CSS, and the plain-text bodies
  (`email_text`, `sms`) have no colours or fonts at all;
- bills and letters carry the legal footer block on every document channel;
- images load only from registry assets: an `http:`, `https:`, `file:`, `ftp:`, `data:`
  or protocol-relative (`//host/…`) URL in `src`, `srcset`, `background`, `poster`, the
  `href` of an element that loads it (`<link>`, SVG `<image>`, `<use>`), CSS `url()` or
  `@import` is reported. A link (`<a href>`) is navigation, not a load, and may go
  anywhere.

What a template computes (`{{ brand.palette.primary }}`) is the brand's own, so Jinja
tags are blanked out before the HTML is read; a string literal inside a tag, though, is
checked as if it stood where the tag does (`color: {{ '#ff00aa' }}`,
`src="{{ 'https://…' }}"`), unless it is only compared (`{% if level == 'red' %}`), and
a literal set to a variable (`{% set accent = '#ff00aa' %}`) as if it stood wherever the
variable is output (`color: {{ accent }}`), reported on the line that sets it.
Where CSS, colours, URLs and literals stand in a source is found by
:mod:`ccm.templates.lint_sources`; this module holds the rules.

The lint reads the template's own sources and the sources of the blocks and layouts they
reach (reported as ``block/<key>`` or ``layout/<key>``), not rendered output, so it can
run on every save and before review, drafts included.
"""

from __future__ import annotations

import html
import re
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

from sqlalchemy.orm import Session

from ccm.brand.models import Brand
from ccm.brand.service import published_brand_version
from ccm.brand.tokens import BrandTokens
from ccm.templates.includes import reached_blocks, referenced_names
from ccm.templates.lint_sources import (
    Context,
    JinjaTag,
    Literal,
    Region,
    blanked,
    jinja_tags,
    property_at,
    regions,
    spaces,
)
from ccm.templates.models import Template, TemplateVersion
from ccm.templates.service import published_blocks

LEGAL_FOOTER = "block/legal-footer"
#: Kinds whose documents must carry the legal text.
NEEDS_LEGAL_FOOTER = frozenset({"bill", "letter"})
#: Channels that make a document (an SMS has no footer).
DOCUMENT_CHANNELS = ("pdf", "html", "email")
#: Bodies that are plain text: no CSS, so no colours or fonts (and still no images).
PLAIN_TEXT_BODIES = frozenset({"email_text", "sms"})
GENERIC_FAMILIES = frozenset({"serif", "sans-serif", "monospace", "cursive", "fantasy",
                              "system-ui", "inherit", "initial", "unset"})
#: Common CSS colour names and their values (a name is on-brand if its value is).
NAMED_COLOURS = {
    "black": "#000000", "white": "#ffffff", "red": "#ff0000", "green": "#008000",
    "blue": "#0000ff", "yellow": "#ffff00", "orange": "#ffa500", "purple": "#800080",
    "pink": "#ffc0cb", "gray": "#808080", "grey": "#808080", "silver": "#c0c0c0",
    "navy": "#000080", "teal": "#008080", "maroon": "#800000", "olive": "#808000",
    "lime": "#00ff00", "aqua": "#00ffff", "fuchsia": "#ff00ff", "brown": "#a52a2a",
    "gold": "#ffd700", "crimson": "#dc143c", "lightgray": "#d3d3d3",
    "darkgray": "#a9a9a9", "whitesmoke": "#f5f5f5",
}

# Jinja: a literal only compared in a condition is not output.
_CONDITION_TAG = re.compile(r"\{%[-+]?\s*(?:if|elif)\b")
_SET_TAG = re.compile(r"\{%[-+]?\s*set\s+([a-zA-Z_]\w*)\s*=")
_NAME = re.compile(r"(?<![\w.])[a-zA-Z_]\w*")
_COMPARED_BEFORE = re.compile(r"(?:[=!<>]=|[<>]|\bin|\bis|\bnot)\Z")
_COMPARED_AFTER = re.compile(r"\s*(?:[=!<>]=|[<>]|in\b|not\s+in\b)")
# Where a source's lines end, to give a finding its line.
_LINE_BREAK = re.compile(r"\r\n?|\n")

# CSS
_HEX = re.compile(r"#(?:[0-9a-fA-F]{8}|[0-9a-fA-F]{6}|[0-9a-fA-F]{3,4})\b")
_FUNCTION_COLOUR = re.compile(
    r"\b(?:rgba?|hsla?|hwb|lab|lch|oklab|oklch|color-mix|color)\([^)]*\)", re.I)
_COLOUR_PROPERTY = re.compile(
    r"color|background(?:-color)?|border(?:-(?:top|right|bottom|left))?(?:-color)?"
    r"|outline(?:-color)?|fill|stroke|text-decoration(?:-color)?|(?:box|text)-shadow"
    r"|caret-color|accent-color|column-rule(?:-color)?", re.I)
#: The size in a ``font`` shorthand (``bold 12px/1.4 Family, serif``), optionally with
#: its line height: what follows it is the family list.
_FONT_SIZE = re.compile(
    r"(?<![\w.-])(?:xx-small|x-small|small|medium|large|x-large|xx-large|xxx-large|larger"
    r"|smaller|[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[a-zA-Z]+|%))(?![\w-])"
    r"(?:\s*/\s*[^\s,\"']+)?\s+(?=\S)")
_WORD = re.compile(r"(?<![\w#-])[a-zA-Z]+(?![\w-])")
# A value ends at `;` or `}`: never at `{` or `:` (`a:hover {` is a selector).
_DECLARATION = re.compile(r"(?<![\w(/.-])(-{0,2}[a-zA-Z][\w-]*+)\s*:\s*([^;{}:]*+)(?=[;}]|\Z)")
_CSS_COMMENT = re.compile(r"/\*.*?(?:\*/|\Z)", re.S)
_CSS_STRING = re.compile(r"\"[^\"]*\"|'[^']*'")
_URL_CALL_ARGUMENT = re.compile(r"(?<=url\()[^)]*", re.I)
_CSS_URL = re.compile(r"(?:\burl\(|@import)\s*[\"']?\s*", re.I)
_CSS_URL_BEFORE = re.compile(r"(?:\burl\(|@import)\s*[\"']?\s*\Z", re.I)
_CSS_URL_END = re.compile(r"[\"')\s>]")
_OUTSIDE_URL = re.compile(r"(?:(?:https?|file|data|ftp):|[/\\]{2})", re.I)
_SRCSET_CANDIDATE = re.compile(r"(?:^|,)\s*([^\s,]+)")


# (offset in the part's source, rule, message)
_Found = tuple[int, str, str]


@dataclass(frozen=True)
class LintFinding:
    part: str  # "bodies/pdf", "block/letterhead", "layout/document"
    line: int | None  # 1-based, in that part's source
    rule: str  # off_brand_colour | off_brand_font | missing_legal_footer | outside_image
    message: str

    def __str__(self) -> str:
        at = f":{self.line}" if self.line is not None else ""
        return f"{self.part}{at}: {self.message}"


# -- judging against the brand -----------------------------------------------------------------


def _normalise(colour: str) -> str:
    colour = colour.lower()
    if len(colour) in (4, 5):  # #rgb, #rgba
        colour = "#" + "".join(c * 2 for c in colour[1:])
    return colour[:7]


def _outside(url: str, offset: int) -> Iterator[_Found]:
    plain = html.unescape(url).strip()
    if _OUTSIDE_URL.match(plain):
        yield (offset, "outside_image",
               f"{plain[:80]!r} is not a registry asset: images and styles load only from "
               "the registry")


def _outside_css_urls(css: str, offset: int) -> Iterator[_Found]:
    for call in _CSS_URL.finditer(css):
        end = _CSS_URL_END.search(css, call.end())
        yield from _outside(css[call.end():end.start() if end else None], offset + call.end())


def _outside_candidates(srcset: str, offset: int) -> Iterator[_Found]:
    for candidate in _SRCSET_CANDIDATE.finditer(srcset):
        yield from _outside(candidate.group(1), offset + candidate.start(1))


class _BrandRules:
    """The brand's colours and fonts, and what in a CSS text is outside them."""

    def __init__(self, brand: BrandTokens) -> None:
        self.palette = {_normalise(value) for value in brand.palette.model_dump().values()}
        self.families = ({brand.fonts.body.lower(), brand.fonts.heading.lower()}
                         | {face.family.lower() for face in brand.fonts.faces}
                         | GENERIC_FAMILIES)

    def _colour(self, colour: str, offset: int) -> Iterator[_Found]:
        value = NAMED_COLOURS.get(colour.lower(), colour)
        if not (value.startswith("#") and _normalise(value) in self.palette):
            yield (offset, "off_brand_colour",
                   f"colour {colour} is not one of the brand's colours (use brand.palette)")

    def value(self, prop: str | None, value: str, offset: int) -> Iterator[_Found]:
        """What is off-brand in the value of ``prop`` (None: a value of unknown use)."""
        text = _URL_CALL_ARGUMENT.sub(spaces, _CSS_STRING.sub(spaces, value))
        for colour in (*_HEX.finditer(text), *_FUNCTION_COLOUR.finditer(text)):
            yield from self._colour(colour.group(), offset + colour.start())
        if prop is not None and _COLOUR_PROPERTY.fullmatch(prop):
            words = _FUNCTION_COLOUR.sub(spaces, text)
            for word in _WORD.finditer(words):
                if word.group().lower() in NAMED_COLOURS:
                    yield from self._colour(word.group(), offset + word.start())
        if prop == "font-family":
            yield from self._families(value, offset)
        elif prop == "font":
            size = _FONT_SIZE.search(value)
            if size is not None:  # the families follow the size (a system font has none)
                yield from self._families(value[size.end():], offset + size.end())

    def _families(self, value: str, offset: int) -> Iterator[_Found]:
        for family in re.finditer(r"[^,\s][^,]*", value):
            name = family.group().strip().strip("\"'").lower()
            if name and not name.startswith("var(") and name not in self.families:
                yield (offset + family.start(), "off_brand_font",
                       f"font family {family.group().strip()!r} is not one of the "
                       "brand's fonts")

    def declarations(self, css: str, offset: int) -> Iterator[_Found]:
        """What is off-brand in CSS declarations (a style attribute, a style sheet)."""
        css = _URL_CALL_ARGUMENT.sub(spaces, _CSS_COMMENT.sub(spaces, css))
        for declaration in _DECLARATION.finditer(css):
            yield from self.value(declaration.group(1).lower(), declaration.group(2),
                                  offset + declaration.start(2))

    def region(self, context: Context, text: str, offset: int) -> Iterator[_Found]:
        """What is off-brand in the text of a region."""
        if context is Context.DECLARATIONS:
            yield from self.declarations(text, offset)
        elif context is Context.COLOUR:
            yield from self.value("color", text, offset)
        elif context is Context.FONT:
            yield from self.value("font-family", text, offset)

    def literal(self, context: Context, prop: str | None, text: str,
                offset: int) -> Iterator[_Found]:
        """What is off-brand in a literal output in a region: in CSS declarations, the
        value of ``prop`` or, outside any value, declarations or a colour of its own."""
        if context is Context.DECLARATIONS and prop is None:
            yield from self.declarations(text, offset)
            yield from self.value(None, text, offset)
        elif context is Context.DECLARATIONS:
            yield from self.value(prop, text, offset)
        else:
            yield from self.region(context, text, offset)


# -- the checks ------------------------------------------------------------------------------


def _compared(source: str, tag: JinjaTag, literal: Literal) -> bool:
    """Whether ``literal`` is only an operand of a comparison, never output."""
    if _CONDITION_TAG.match(source, tag.start):
        return True
    after = literal.offset + len(literal.text) + 1  # past the closing quote
    before = source[tag.start:literal.offset - 1].rstrip()[-8:]
    return bool(_COMPARED_BEFORE.search(before)
                or _COMPARED_AFTER.match(source, after, tag.end))


def _assigned(source: str, tags: Iterable[JinjaTag]) -> dict[str, list[Literal]]:
    """The literals each ``{% set name = … %}`` may give its variable (not those it only
    compares), however many times the name is set."""
    assigned: dict[str, list[Literal]] = {}
    for tag in tags:
        if (setting := _SET_TAG.match(source, tag.start)) is not None:
            assigned.setdefault(setting.group(1), []).extend(
                literal for literal in tag.literals if not _compared(source, tag, literal))
    return assigned


def _names_output(source: str, tag: JinjaTag) -> set[str]:
    """The variable names a ``{{ … }}`` tag reads (attribute names after a dot aside)."""
    if not source.startswith("{{", tag.start):
        return set()
    text = source[tag.start:tag.end]
    for literal in tag.literals:  # a name inside a string is not a variable
        start = literal.offset - tag.start
        text = text[:start] + " " * len(literal.text) + text[start + len(literal.text):]
    return set(_NAME.findall(text))


def _literal_findings(source: str, untagged: str, tags: list[JinjaTag],
                      html_regions: list[Region], rules: _BrandRules | None) -> Iterator[_Found]:
    """Each literal checked as if it stood where its tag does, and a literal set to a
    variable as if it stood where the variable is output (reported where it is set)."""
    html_regions = sorted(html_regions, key=lambda region: region.start)  # they never overlap
    starts = [region.start for region in html_regions]
    assigned = _assigned(source, tags)
    for tag in tags:
        index = bisect_right(starts, tag.start) - 1
        region = (html_regions[index]
                  if index >= 0 and tag.start < html_regions[index].end else None)
        in_css_url = _CSS_URL_BEFORE.search(untagged, max(0, tag.start - 200), tag.start)
        literals = [literal for literal in tag.literals if not _compared(source, tag, literal)]
        if assigned and (in_css_url or region is not None):
            literals += [literal for name in sorted(_names_output(source, tag))
                         for literal in assigned.get(name, ())]
        for literal in literals:
            if in_css_url or (region is not None and region.context is Context.URL):
                yield from _outside(literal.text, literal.offset)
            elif region is not None and region.context is Context.SRCSET:
                yield from _outside_candidates(literal.text, literal.offset)
            elif region is not None and rules is not None:
                yield from _outside_css_urls(literal.text, literal.offset)
                prop = (property_at(untagged, region, tag.start)
                        if region.context is Context.DECLARATIONS else None)
                yield from rules.literal(region.context, prop, literal.text, literal.offset)


def _check_source(part: str, source: str, brand: BrandTokens, *,
                  plain_text: bool = False) -> list[LintFinding]:
    """The findings in one source; a plain-text one is read for outside images only."""
    tags = jinja_tags(source)
    untagged = blanked(source, tags)
    html_regions = regions(untagged)
    if plain_text:
        html_regions = [r for r in html_regions if r.context in (Context.URL, Context.SRCSET)]
    rules = None if plain_text else _BrandRules(brand)
    found: list[_Found] = []
    for region in html_regions:
        text = untagged[region.start:region.end]
        if region.context is Context.URL:
            found += _outside(text, region.start + len(text) - len(text.lstrip()))
        elif region.context is Context.SRCSET:
            found += _outside_candidates(text, region.start)
        elif rules is not None:
            found += rules.region(region.context, text, region.start)
    found += _outside_css_urls(untagged, 0)
    found += _literal_findings(source, untagged, tags, html_regions, rules)
    breaks = [m.start() for m in _LINE_BREAK.finditer(source)]
    findings: dict[tuple[int, str, str], LintFinding] = {}
    for offset, rule, message in sorted(found):
        line = bisect_right(breaks, offset) + 1
        findings.setdefault((line, rule, message), LintFinding(part, line, rule, message))
    return list(findings.values())


def lint_template(kind: str, bodies: Mapping[str, str], brand: BrandTokens,
                  blocks: Mapping[str, str]) -> list[LintFinding]:
    """Every finding for a template's sources and the blocks they reach, against its
    brand and the live blocks (each block reported once, under its own name)."""
    findings: list[LintFinding] = []
    reached: set[str] = set()
    for channel, source in sorted(bodies.items()):
        findings += _check_source(f"bodies/{channel}", source, brand,
                                  plain_text=channel in PLAIN_TEXT_BODIES)
        names = reached_blocks(referenced_names(source), dict(blocks))
        reached.update(names)
        if kind in NEEDS_LEGAL_FOOTER and channel in DOCUMENT_CHANNELS \
                and LEGAL_FOOTER not in names:
            findings.append(LintFinding(
                f"bodies/{channel}", None, "missing_legal_footer",
                f"a {kind} must include {LEGAL_FOOTER} (directly or through its layout)"))
    for name in sorted(reached & blocks.keys()):
        findings += _check_source(name, blocks[name], brand)
    return findings


def lint_content(session: Session, template: Template, bodies: Mapping[str, str]
                 ) -> list[LintFinding]:
    """The lint of ``bodies`` (saved or not) for ``template``, against its brand's live
    tokens and the live blocks."""
    brand = session.get(Brand, template.brand_id)
    assert brand is not None
    tokens = BrandTokens.model_validate(published_brand_version(session, brand.key).tokens)
    blocks = {name: source for name, (_, source) in published_blocks(session).items()}
    return lint_template(template.kind.value, bodies, tokens, blocks)


def lint_version(session: Session, row: TemplateVersion) -> list[LintFinding]:
    """The lint of a stored version (drafts too)."""
    return lint_content(session, row.template, row.bodies)
