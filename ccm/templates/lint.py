"""Brand governance: what a template may not do, checked on its sources with line numbers.

- colours and font families come from the brand's tokens: a literal colour (hex, `rgb()`,
  `hsl()`, a named colour) or a font family outside the brand is reported where it
  stands;
- bills and letters carry the legal footer block on every document channel;
- images load only from registry assets: a literal `http:`, `https:`, `file:` or
  `data:` URL in `src`, `href` of a stylesheet, or CSS `url()` is reported.

The lint reads the template's own sources, not rendered output, so it can run on every
save and before review, drafts included.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy.orm import Session

from ccm.brand.models import Brand
from ccm.brand.service import published_brand_version
from ccm.brand.tokens import BrandTokens
from ccm.templates.includes import reached_blocks, referenced_names
from ccm.templates.models import Template, TemplateVersion
from ccm.templates.service import published_blocks

LEGAL_FOOTER = "block/legal-footer"
#: Kinds whose documents must carry the legal text.
NEEDS_LEGAL_FOOTER = frozenset({"bill", "letter"})
#: Channels that make a document (an SMS has no footer).
DOCUMENT_CHANNELS = ("pdf", "html", "email")
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

_EXPRESSION = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.S)
_HEX = re.compile(r"#(?:[0-9a-fA-F]{8}|[0-9a-fA-F]{6}|[0-9a-fA-F]{3,4})\b")
_FUNCTION_COLOUR = re.compile(r"\b(?:rgba?|hsla?)\([^)]*\)", re.I)
_COLOUR_PROPERTY = re.compile(
    r"(?:^|[;{\s\"'])(?:color|background(?:-color)?|border(?:-(?:top|right|bottom|left))?"
    r"(?:-color)?|outline(?:-color)?|fill|stroke)\s*:\s*([^;\"'}]+)", re.I)
_FONT_FAMILY = re.compile(r"font-family\s*:\s*([^;\"'}]+)", re.I)
_OUTSIDE_URL = re.compile(
    r"(?:\b(?:src|href|background)\s*=\s*[\"']?\s*|url\(\s*[\"']?)"
    r"((?:https?|file|data|ftp):[^\"')\s>]*)", re.I)


@dataclass(frozen=True)
class LintFinding:
    part: str  # "bodies/pdf"
    line: int | None  # 1-based, in that part's source
    rule: str  # off_brand_colour | off_brand_font | missing_legal_footer | outside_image
    message: str

    def __str__(self) -> str:
        at = f":{self.line}" if self.line is not None else ""
        return f"{self.part}{at}: {self.message}"


def _normalise(colour: str) -> str:
    colour = colour.lower()
    if len(colour) in (4, 5):  # #rgb, #rgba
        colour = "#" + "".join(c * 2 for c in colour[1:])
    return colour[:7]


def _without_expressions(source: str) -> str:
    """The source with Jinja expressions blanked out (same lines, same columns): what the
    template computes from tokens is the brand's own."""
    return _EXPRESSION.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), source)


def _colours(line: str) -> Iterable[str]:
    yield from _HEX.findall(line)
    yield from _FUNCTION_COLOUR.findall(line)
    for match in _COLOUR_PROPERTY.finditer(line):
        for word in re.findall(r"[a-zA-Z]+", match.group(1)):
            if word.lower() in NAMED_COLOURS:
                yield word


def _check_source(part: str, source: str, brand: BrandTokens) -> list[LintFinding]:
    palette = {_normalise(value) for value in brand.palette.model_dump().values()}
    families = {brand.fonts.body.lower(), brand.fonts.heading.lower()} | GENERIC_FAMILIES
    findings = []
    for number, line in enumerate(_without_expressions(source).splitlines(), 1):
        for colour in dict.fromkeys(_colours(line)):
            value = NAMED_COLOURS.get(colour.lower(), colour)
            if value.startswith("#") and _normalise(value) in palette:
                continue
            findings.append(LintFinding(
                part, number, "off_brand_colour",
                f"colour {colour} is not one of the brand's colours (use brand.palette)"))
        for match in _FONT_FAMILY.finditer(line):
            for family in match.group(1).split(","):
                name = family.strip().strip("\"'").lower()
                if name and name not in families:
                    findings.append(LintFinding(
                        part, number, "off_brand_font",
                        f"font family {family.strip()!r} is not one of the brand's fonts"))
        for match in _OUTSIDE_URL.finditer(line):
            findings.append(LintFinding(
                part, number, "outside_image",
                f"{match.group(1)[:80]!r} is not a registry asset: images and styles load "
                "only from the registry"))
    return findings


def lint_template(kind: str, bodies: Mapping[str, str], brand: BrandTokens,
                  blocks: Mapping[str, str]) -> list[LintFinding]:
    """Every finding for a template's sources, against its brand and the live blocks."""
    findings: list[LintFinding] = []
    for channel, source in sorted(bodies.items()):
        if channel != "sms":
            findings += _check_source(f"bodies/{channel}", source, brand)
        if kind in NEEDS_LEGAL_FOOTER and channel in DOCUMENT_CHANNELS \
                and LEGAL_FOOTER not in reached_blocks(referenced_names(source), dict(blocks)):
            findings.append(LintFinding(
                f"bodies/{channel}", None, "missing_legal_footer",
                f"a {kind} must include {LEGAL_FOOTER} (directly or through its layout)"))
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
