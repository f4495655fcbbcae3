"""The ``<locale>.po`` files of an exported template: the messages :mod:`ccm.i18n`
extracts from the exported files (:mod:`ccm.i18n.folder`: its bodies, subject and
blocks), with their plurals, flags and places, filled with the stored translations and
written with the writer ``ccm i18n extract`` uses (with a new catalog's header comment).
What in them will not load back exactly as stored is returned as warnings.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.messages.catalog import Catalog

from ccm.errors import TemplateSyntaxError
from ccm.i18n.catalogs import default_header_comment, po_bytes, template_catalog
from ccm.i18n.extract import extract_messages
from ccm.i18n.folder import read_template_source


def write_catalogs(root: Path, folder: Path, key: str,
                   translations: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Each locale's catalog as ``ccm i18n extract`` writes it for the exported folder
    (its bodies, subject and blocks are written already): the template's messages, with
    their locations and flags, translated as stored. What in them will not load back as
    stored is returned."""
    if not translations:
        return []
    where = f"templates/{key}"
    warnings: list[str] = []
    try:
        source, location, offsets = read_template_source(folder, root)
        messages = extract_messages(source)
    except TemplateSyntaxError as exc:
        messages, location, offsets = [], {}, {}
        warnings.append(f"{where}: no messages could be extracted ({exc.detail}): its "
                        "catalogs hold the stored translations only, without locations")
    template = template_catalog(messages, project=key, location=location,
                                line_offset=offsets)
    for locale in sorted(translations):
        catalog, problems = translated_catalog(template, locale, translations[locale])
        comment = default_header_comment(key, str(catalog.locale))
        (folder / "locales").mkdir(parents=True, exist_ok=True)
        (folder / "locales" / f"{locale}.po").write_bytes(po_bytes(catalog, comment))
        warnings += [f"{where}/locales/{locale}.po: {problem}" for problem in problems]
    return warnings


def translated_catalog(template: Catalog, locale: str, messages: Mapping[str, Any]
                       ) -> tuple[Catalog, list[str]]:
    """``template``'s messages in ``locale`` with the stored ``messages`` (msgid -> text,
    or a list of plural forms) filled in, and what will not load back as stored.

    A stored message the template no longer uses is written as a plain entry without a
    location, not as an obsolete (``#~``) one, which the loader would not read; as only
    its singular is stored, a plural one has the singular as its ``msgid_plural`` too.
    A message stored in the other shape than the template uses it (plural forms for a
    ``gettext``) is written in its stored shape, so that it loads back as stored."""
    problems: list[str] = []
    try:
        Locale.parse(locale)
    except (UnknownLocaleError, ValueError):
        problems.append(f"the loader reads the locale from the file name and does not "
                        f"read {locale!r}")
    # Stored locales passed check_locale, which reads "de-AT" as "de_AT".
    catalog = Catalog(locale=Locale.parse(locale.replace("-", "_")),
                      project=template.project, fuzzy=False)
    for message in template:
        if message.id:
            catalog[message.id] = message.clone()  # filled in below: keep the template's
    for msgid in sorted(messages):
        value = messages[msgid]
        if not msgid or not value or (isinstance(value, list | tuple) and not any(value)):
            problems.append(f"{msgid!r} has no text and is left out")
            continue
        known = catalog.get(msgid)
        if isinstance(value, list | tuple):
            forms = [str(form) for form in value]
            if len(forms) != catalog.num_plurals or forms != list(value):
                problems.append(f"{msgid!r} has {len(value)} plural form(s); the catalog "
                                f"holds {catalog.num_plurals} texts")
            plural = known.id[1] if known is not None and known.pluralizable else msgid
            ids: str | tuple[str, str] = (msgid, plural)
            string: str | tuple[str, ...] = tuple(forms)
        else:
            if not isinstance(value, str):
                problems.append(f"{msgid!r} is not text ({type(value).__name__})")
            ids, string = msgid, str(value)
        if known is None:
            catalog.add(ids, string)
        else:
            known.id, known.string = ids, string
    return catalog, problems
