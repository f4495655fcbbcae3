"""Catalogs in a registry folder laid out like ``ccm/stock`` (see :mod:`ccm.registry.loader`).

Each ``templates/<key>/locales/`` holds ``messages.pot`` (written by extraction, never by
hand), a ``<locale>.po`` per language translators edit, and the ``<locale>.mo`` compiling
makes. The loader reads the ``.po`` files only.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from babel.messages.catalog import Catalog

from ccm.errors import RegistryError
from ccm.i18n.catalogs import (
    CatalogProblem,
    CatalogStats,
    catalog_stats,
    check_catalog,
    default_header_comment,
    header_comment_of,
    mo_bytes,
    new_catalog,
    po_bytes,
    template_catalog,
    update_catalog,
    write_if_changed,
)
from ccm.i18n.extract import SUBJECT, TemplateSource, extract_messages

POT_NAME = "messages.pot"
LOCALES = "locales"


@dataclass(frozen=True)
class CatalogFile:
    """What extraction did to one file."""

    template: str
    path: Path
    locale: str | None  # None: the .pot
    action: str  # "created", "updated" or "unchanged"
    stats: CatalogStats


@dataclass
class CompileResult:
    problems: list[CatalogProblem] = field(default_factory=list)
    written: list[Path] = field(default_factory=list)
    stats: dict[Path, CatalogStats] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems


def template_folders(root: Path) -> list[Path]:
    if not (root / "templates").is_dir():
        raise RegistryError(f"{root} has no templates/ folder")
    return sorted(p for p in (root / "templates").iterdir() if (p / "template.yaml").is_file())


def _shared_blocks(root: Path) -> tuple[dict[str, str], dict[str, Path]]:
    sources: dict[str, str] = {}
    paths: dict[str, Path] = {}
    for kind, folder in (("layout", "layouts"), ("block", "blocks")):
        for path in sorted((root / folder).glob("*.html")):
            sources[f"{kind}/{path.stem}"] = path.read_text(encoding="utf-8")
            paths[f"{kind}/{path.stem}"] = path
    return sources, paths


def _subject_line(spec_text: str) -> int:
    """The line of ``template.yaml`` the subject's first line is on (1-based)."""
    node = yaml.compose(spec_text)
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if key.value == SUBJECT:
                block_scalar = getattr(value, "style", None) in ("|", ">")
                return int(value.start_mark.line) + 1 + int(block_scalar)
    return 1


def read_template_source(folder: Path, root: Path) -> tuple[TemplateSource, dict[str, str],
                                                           dict[str, int]]:
    """A template folder's content, where each part is (relative to the folder), and how
    far a part's lines are shifted in its file."""
    spec_path = folder / "template.yaml"
    spec_text = spec_path.read_text(encoding="utf-8")
    spec: Any = yaml.safe_load(spec_text)
    bodies_spec = spec.get("bodies") if isinstance(spec, dict) else None
    if not isinstance(bodies_spec, dict):
        raise RegistryError(f"{spec_path}: 'bodies' must map channels to files")
    bodies, location = {}, {}
    for channel, name in bodies_spec.items():
        path = folder / str(name)
        if not path.is_file():
            raise RegistryError(f"{spec_path}: {channel} body {name!r} is not a file")
        bodies[str(channel)] = path.read_text(encoding="utf-8")
        location[str(channel)] = Path(str(name)).as_posix()
    blocks, block_paths = _shared_blocks(root)
    for name, path in block_paths.items():
        location[name] = Path("..", "..", path.relative_to(root)).as_posix()
    subject = spec.get("subject")
    location[SUBJECT] = "template.yaml"
    offsets = {SUBJECT: _subject_line(spec_text) - 1} if subject else {}
    return TemplateSource(bodies, str(subject) if subject else None, blocks), location, offsets


def extract_registry(root: Path, locales: Sequence[str] = ()) -> list[CatalogFile]:
    """Write every template's ``messages.pot`` and update its ``.po`` files; a locale in
    ``locales`` gets a new catalog where it has none. Files that would not change are left
    alone."""
    folders = template_folders(root)
    results: list[CatalogFile] = []
    for folder in folders:
        key = folder.name
        source, location, offsets = read_template_source(folder, root)
        template = template_catalog(extract_messages(source), project=key, location=location,
                                    line_offset=offsets)
        results.append(_write(key, folder / LOCALES / POT_NAME, None,
                              po_bytes(template, default_header_comment(key, None)),
                              catalog_stats(template)))
        existing = {p.stem: p for p in sorted((folder / LOCALES).glob("*.po"))}
        for locale in sorted(set(existing) | set(locales)):
            results.append(_update_locale(key, folder, locale, existing.get(locale), template))
    return results


def _update_locale(key: str, folder: Path, locale: str, path: Path | None,
                   template: Catalog) -> CatalogFile:
    catalog: Catalog | None
    if path is None:
        catalog = new_catalog(locale, template)
        comment = default_header_comment(key, locale)
        path = folder / LOCALES / f"{locale}.po"
    else:
        catalog, problems = check_catalog(path)
        if catalog is None:
            raise RegistryError(str(problems[0]))
        update_catalog(catalog, template)
        comment = (header_comment_of(path.read_text(encoding="utf-8"))
                   or default_header_comment(key, locale))
    catalog.project = key
    return _write(key, path, locale, po_bytes(catalog, comment), catalog_stats(catalog))


def _write(key: str, path: Path, locale: str | None, content: bytes,
           stats: CatalogStats) -> CatalogFile:
    existed = path.is_file()
    changed = write_if_changed(path, content)
    action = "unchanged" if not changed else "updated" if existed else "created"
    return CatalogFile(key, path, locale, action, stats)


def catalog_paths(root: Path) -> list[Path]:
    return [path for folder in template_folders(root)
            for path in sorted((folder / LOCALES).glob("*.po"))]


def compile_registry(root: Path, paths: Iterable[Path] | None = None) -> CompileResult:
    """Check every catalog, then, only if none has a problem, write each ``.mo``."""
    result = CompileResult()
    compiled: list[tuple[Path, bytes]] = []
    for path in catalog_paths(root) if paths is None else paths:
        catalog, problems = check_catalog(path)
        result.problems += problems
        if catalog is not None:
            result.stats[path] = catalog_stats(catalog)
            compiled.append((path.with_suffix(".mo"), mo_bytes(catalog)))
    if result.problems:
        return result
    for path, content in compiled:
        write_if_changed(path, content)
        result.written.append(path)
    return result


__all__ = ["POT_NAME", "CatalogFile", "CompileResult", "catalog_paths", "compile_registry",
           "extract_registry", "read_template_source", "template_folders"]
