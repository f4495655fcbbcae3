"""The translatable messages of a template version, as rendering will look them up.

Messages are found with Babel's extraction over Jinja's own extractor, parsing each
source with the renderer's settings (block trimming, new-style gettext, the ``trimmed``
policy), so a msgid extracted here is exactly the string a render asks its catalogs for.

What is read is plain content (:class:`TemplateSource`: bodies by channel, the subject,
the shared blocks), so the same functions serve a registry folder and a stored version.
A template's catalogs translate the blocks it includes too: rendering looks up every
message of a render, block or body, in the template's catalogs.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import jinja2
from babel.messages.catalog import PYTHON_FORMAT
from babel.messages.extract import extract
from jinja2.ext import babel_extract

from ccm.errors import TemplateSyntaxError
from ccm.rendering.engine import default_renderer
from ccm.templates.includes import reached_blocks, referenced_names

#: The translation functions a render provides (:mod:`ccm.rendering.i18n`) and where
#: their msgids are: ``ngettext(singular, plural, n)``.
KEYWORDS: dict[str, tuple[int, ...] | None] = {"_": None, "gettext": None, "ngettext": (1, 2)}
#: Jinja's extractor; Babel's stubs type extractors more narrowly than Jinja declares it.
_JINJA_EXTRACTOR: Any = babel_extract
#: ``{# Translators: ... #}`` just before a message reaches the translator.
COMMENT_TAGS = ("Translators:",)
#: Body parts in the order reports and catalogs list them; other keys follow, sorted.
PART_ORDER = ("pdf", "html", "email", "email_text", "sms")
SUBJECT = "subject"


@dataclass(frozen=True)
class Occurrence:
    """Where a message is used: a body (``pdf``), ``subject`` or a block, and its line."""

    part: str
    line: int


@dataclass(frozen=True)
class ExtractedMessage:
    """One translatable message with every place it is used."""

    msgid: str
    plural: str | None
    occurrences: tuple[Occurrence, ...]
    comments: tuple[str, ...] = ()

    @property
    def python_format(self) -> bool:
        """It has ``%(name)s`` placeholders (new-style gettext formats every message)."""
        return any(PYTHON_FORMAT.search(text) for text in (self.msgid, self.plural or ""))

    @property
    def first(self) -> Occurrence:
        return self.occurrences[0]


@dataclass(frozen=True)
class TemplateSource:
    """What a template version renders from. ``blocks`` may hold every shared block by
    include name (``block/footer``); only those the bodies and subject reach are read."""

    bodies: Mapping[str, str]
    subject: str | None = None
    blocks: Mapping[str, str] = field(default_factory=dict)

    def parts(self) -> list[tuple[str, str]]:
        """(part, source) in a fixed order: bodies, subject, reached blocks by name."""
        ordered = [k for k in PART_ORDER if k in self.bodies]
        ordered += sorted(set(self.bodies) - set(PART_ORDER))
        parts = [(key, self.bodies[key]) for key in ordered]
        if self.subject:
            parts.append((SUBJECT, self.subject))
        names = {name for _, source in parts for name in referenced_names(source)}
        reached = reached_blocks(names, dict(self.blocks))
        parts += [(name, self.blocks[name]) for name in sorted(reached) if name in self.blocks]
        return parts


@cache
def jinja_options() -> dict[str, str]:
    """Jinja's extractor options, read off the renderer's environment."""
    env = default_renderer().env
    return {
        "extensions": ",".join(sorted(env.extensions)),
        "block_start_string": env.block_start_string,
        "block_end_string": env.block_end_string,
        "variable_start_string": env.variable_start_string,
        "variable_end_string": env.variable_end_string,
        "comment_start_string": env.comment_start_string,
        "comment_end_string": env.comment_end_string,
        "line_statement_prefix": env.line_statement_prefix or "",
        "line_comment_prefix": env.line_comment_prefix or "",
        "trim_blocks": str(env.trim_blocks),
        "lstrip_blocks": str(env.lstrip_blocks),
        "keep_trailing_newline": str(env.keep_trailing_newline),
        "newstyle_gettext": str(getattr(env, "newstyle_gettext", False)),
        "trimmed": str(bool(env.policies.get("ext.i18n.trimmed", False))),
        "silent": "false",  # a syntax error is an error, not a template without messages
    }


def extract_part(part: str, source: str) -> Iterator[tuple[int, str, str | None, list[str]]]:
    """(line, msgid, plural, comments) of each message in one source, in order."""
    try:
        found = list(extract(_JINJA_EXTRACTOR, io.BytesIO(source.encode("utf-8")),
                             keywords=KEYWORDS, comment_tags=COMMENT_TAGS,
                             options=jinja_options(), strip_comment_tags=True))
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateSyntaxError(f"{part}, line {exc.lineno}: {exc.message}",
                                  template=part, line=exc.lineno) from None
    for lineno, message, comments, _context in found:
        if isinstance(message, tuple):
            yield lineno, str(message[0]), str(message[1]), list(comments)
        else:
            yield lineno, str(message), None, list(comments)


def extract_messages(source: TemplateSource) -> list[ExtractedMessage]:
    """Every message of ``source``, once each, in the order first used."""
    gathered: dict[str, tuple[str | None, list[Occurrence], list[str]]] = {}
    for part, text in source.parts():
        for line, msgid, plural, comments in extract_part(part, text):
            known = gathered.setdefault(msgid, (plural, [], []))
            if known[0] is None and plural is not None:
                known = gathered[msgid] = (plural, known[1], known[2])
            occurrence = Occurrence(part, line)
            if occurrence not in known[1]:
                known[1].append(occurrence)
            known[2].extend(c for c in comments if c not in known[2])
    return [ExtractedMessage(msgid, plural, tuple(where), tuple(comments))
            for msgid, (plural, where, comments) in gathered.items()]
