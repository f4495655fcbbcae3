"""Gettext catalogs: the ``.pot`` of a template, its ``<locale>.po`` files and their ``.mo``.

Files are written to live in git: no dates, no tool versions, messages sorted by msgid,
lines never wrapped, and a header that only says what the file is. Writing the same
catalog twice gives the same bytes.

Updating a catalog from the ``.pot`` adds new messages untranslated and marks vanished
ones obsolete (``#~``), keeping their translation should they come back. There is no
fuzzy matching: a guessed translation would reach customers as if a translator wrote it.

Checking runs Babel's checkers (placeholders a translation invents, plural form count)
and ccm's own: a translation must keep every placeholder of its msgid (rendering formats
it with the message's variables, so a dropped ``%(amount)s`` silently drops the amount),
must be a valid format (a bare ``%`` garbles the render), and must give all its plural
forms or none (the first plural form may leave out the count: "ein Tag").
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.messages.catalog import PYTHON_FORMAT, Catalog, Message
from babel.messages.mofile import write_mo
from babel.messages.pofile import PoFileError, read_po, write_po

from ccm.i18n.extract import ExtractedMessage, Occurrence

#: ``%(name)s``: the placeholders new-style gettext fills from a message's variables.
_NAMED = re.compile(r"%\((\w+)\)")
#: The variable ``ngettext`` always passes: a singular form may leave it out.
_COUNT = "num"
#: Comment lines that belong to a message, not to the file's header comment.
_MESSAGE_COMMENT = ("#,", "#:", "#.", "#|", "#~")


@dataclass(frozen=True)
class CatalogProblem:
    """One thing wrong in a catalog, where a translator finds it."""

    path: Path
    line: int | None
    msgid: str
    problem: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else str(self.path)
        return f"{where}: {self.msgid!r}: {self.problem}" if self.msgid else (
            f"{where}: {self.problem}")


@dataclass(frozen=True)
class CatalogStats:
    """How far a catalog is translated."""

    messages: int
    translated: int
    fuzzy: int
    obsolete: int

    @property
    def untranslated(self) -> int:
        return self.messages - self.translated


# -- building and updating -----------------------------------------------------------


def template_catalog(messages: Iterable[ExtractedMessage], project: str,
                     location: Mapping[str, str] | None = None,
                     line_offset: Mapping[str, int] | None = None) -> Catalog:
    """The ``.pot`` catalog of ``messages``. ``location`` names the file each part is in
    (parts sharing a file are listed once); ``line_offset`` shifts a part's lines (a
    subject inside ``template.yaml``)."""
    catalog = Catalog(project=project, fuzzy=False)
    for message in messages:
        catalog.add(
            message.msgid if message.plural is None else (message.msgid, message.plural),
            locations=_locations(message.occurrences, location or {}, line_offset or {}),
            auto_comments=message.comments,
            flags=("python-format",) if message.python_format else (),
        )
    return catalog


def _locations(occurrences: Iterable[Occurrence], location: Mapping[str, str],
               line_offset: Mapping[str, int]) -> list[tuple[str, int]]:
    seen: list[tuple[str, int]] = []
    for occurrence in occurrences:
        place = (location.get(occurrence.part, occurrence.part),
                 occurrence.line + line_offset.get(occurrence.part, 0))
        if place not in seen:
            seen.append(place)
    return seen


def new_catalog(locale: str, template: Catalog) -> Catalog:
    """A catalog for ``locale`` holding every message of ``template``, untranslated."""
    catalog = Catalog(locale=locale, project=template.project, fuzzy=False)
    update_catalog(catalog, template)
    return catalog


def update_catalog(catalog: Catalog, template: Catalog) -> None:
    """Bring ``catalog`` in line with ``template`` (see the module notes)."""
    for message in template:
        if message.id and message.id not in catalog:
            returning = catalog.obsolete.pop(_key(message.id), None)
            if returning is not None and _has_translation(returning):
                catalog[returning.id] = returning
    catalog.update(template, no_fuzzy_matching=True, update_creation_date=False)
    for key in [k for k, m in catalog.obsolete.items() if not _has_translation(m)]:
        del catalog.obsolete[key]


def _key(msgid: str | tuple[str, ...] | list[str]) -> str:
    return msgid if isinstance(msgid, str) else msgid[0]


def _has_translation(message: Message) -> bool:
    strings = message.string if isinstance(message.string, list | tuple) else [message.string]
    return any(strings)


def _translated(message: Message) -> bool:
    strings = message.string if isinstance(message.string, list | tuple) else [message.string]
    return bool(strings) and all(strings)


def catalog_stats(catalog: Catalog) -> CatalogStats:
    messages = [m for m in catalog if m.id]
    return CatalogStats(messages=len(messages),
                        translated=sum(_translated(m) and not m.fuzzy for m in messages),
                        fuzzy=sum(m.fuzzy for m in messages), obsolete=len(catalog.obsolete))


# -- reading and writing -------------------------------------------------------------


def read_catalog(path: Path, locale: str | None = None) -> Catalog:
    """A ``.po``/``.pot`` file; a broken one raises :class:`PoFileError` with its line."""
    with path.open("rb") as handle:
        return read_po(handle, locale=locale, abort_invalid=True)


def header_comment_of(text: str) -> str:
    """The comment lines a file opens with, as written (Babel's ``header_comment`` would
    invent a dated one if there are none, and fills in words such as YEAR)."""
    lines: list[str] = []
    for line in text.splitlines():
        if not line.startswith("#") or line.startswith(_MESSAGE_COMMENT):
            break
        lines.append(line)
    return "\n".join(lines)


def default_header_comment(key: str, locale: str | None) -> str:
    if locale is None:
        return (f"# Messages of template {key}, extracted by `ccm i18n extract`.\n"
                "# Do not edit: translate in the <locale>.po files beside it.")
    return f"# {Locale.parse(locale).english_name} translations of template {key}."


def po_bytes(catalog: Catalog, header_comment: str) -> bytes:
    """The catalog as a deterministic ``.po`` (or ``.pot``, without a locale) file."""
    headers = [("Project-Id-Version", catalog.project)]
    if catalog.locale is not None:
        headers += [("Language", str(catalog.locale)), ("Plural-Forms", catalog.plural_forms)]
    headers += [("MIME-Version", "1.0"), ("Content-Type", "text/plain; charset=UTF-8"),
                ("Content-Transfer-Encoding", "8bit")]
    head = [line for line in header_comment.splitlines() if line.strip()]
    head += ['msgid ""', 'msgstr ""']
    head += [f'"{name}: {value}\\n"' for name, value in headers]
    body = io.BytesIO()
    write_po(body, catalog, width=0, omit_header=True, sort_output=True)
    content = ("\n".join(head) + "\n").encode("utf-8")
    messages = body.getvalue().strip(b"\n")  # one blank line between entries, none at the end
    return content + b"\n" + messages + b"\n" if messages else content


def write_if_changed(path: Path, content: bytes) -> bool:
    """Write ``content`` unless the file already holds it; whether it wrote."""
    if path.is_file() and path.read_bytes() == content:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_bytes(content)
    temporary.replace(path)
    return True


# -- checking and compiling ----------------------------------------------------------


def check_catalog(path: Path) -> tuple[Catalog | None, list[CatalogProblem]]:
    """The catalog in ``path`` (named ``<locale>.po``) and every problem in it."""
    try:
        Locale.parse(path.stem)
        catalog = read_catalog(path, locale=path.stem)
    except (UnknownLocaleError, ValueError):
        return None, [CatalogProblem(path, None, "", f"{path.stem!r} is not a known locale")]
    except PoFileError as exc:  # its lineno counts from 0, its message ends "on <lineno>"
        reason = str(exc).rsplit(" on ", 1)[0]
        return None, [CatalogProblem(path, exc.lineno + 1, "", f"not a readable catalog: {reason}")]
    problems: list[CatalogProblem] = []
    for message in catalog:
        if not message.id or not _has_translation(message):
            continue
        found = [str(error) for error in message.check(catalog)]
        found += [p for p in _placeholder_problems(message) if p not in found]
        problems += [CatalogProblem(path, message.lineno, _key(message.id), p) for p in found]
    return catalog, problems


def _placeholder_problems(message: Message) -> list[str]:
    if message.id is None:
        return []
    if isinstance(message.id, str):
        allowed = set(_NAMED.findall(message.id))
        forms = [(str(message.string), allowed)]
    else:
        strings = message.string
        texts = [str(s) for s in strings] if isinstance(strings, list | tuple) else [str(strings)]
        if not all(texts):
            return [f"{sum(map(bool, texts))} of {len(texts)} plural forms translated: "
                    "give all of them or none"]
        allowed = set(_NAMED.findall(" ".join(message.id))) | {_COUNT}
        # The first form may leave the count out ("ein Tag"); the others keep everything.
        plural = set(_NAMED.findall(message.id[-1]))
        forms = [(text, plural if index else set()) for index, text in enumerate(texts)]
    positional_msgid = any(_positional(text) for text in _texts(message.id))
    problems = []
    for translation, wanted in forms:
        if _positional(translation) and not positional_msgid:
            problems.append(f"translation {translation!r} has a bare % (as in "
                            f"{_positional(translation)[0]!r}): write a literal % as %%")
            continue
        missing = sorted(wanted - set(_NAMED.findall(translation)))
        if missing:
            names = ", ".join(f"%({name})s" for name in missing)
            problems.append(f"translation {translation!r} drops placeholder(s) {names}")
        try:
            translation % {name: "" for name in allowed}
        except KeyError as exc:
            if "python-format" not in message.flags:  # else Babel's checker said so
                problems.append(f"unknown named placeholder {exc.args[0]!r}")
        except (ValueError, TypeError) as exc:
            problems.append(f"translation {translation!r} is not a valid format ({exc}); "
                            "write a literal % as %%")
    return problems


def _texts(msgid: str | tuple[str, ...] | list[str]) -> list[str]:
    return [msgid] if isinstance(msgid, str) else list(msgid)


def _positional(text: str) -> list[str]:
    """Conversions without a name (``% s`` in ``100% sicher``), but not ``%%``."""
    return [match.group(0) for match in PYTHON_FORMAT.finditer(text)
            if match.group(1) is None and match.group(3) != "%"]


def mo_bytes(catalog: Catalog) -> bytes:
    """The compiled catalog; fuzzy translations are left out, as gettext does."""
    out = io.BytesIO()
    write_mo(out, catalog, use_fuzzy=False)
    return out.getvalue()
