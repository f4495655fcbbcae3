"""Write the registry out as the folder of plain files the loader reads
(``ccm registry export DIR``), so that it can live in git and be loaded elsewhere.

What goes out is what is live: the latest *published* version of every brand, layout,
block, template and journey, and the PDF profile of each template kind. Left out, and
listed in the report's ``skipped``: entries with no published version (drafts only),
deleted blocks, and what would not load without them — a template whose brand is left
out, a journey naming a template that is left out.

A sub-brand goes out as its parent's key and its own overrides. Loaded, they are laid
over the parent as exported (its latest published version): a sub-brand that was behind
its parent comes back rebased.

The files are the same for the same registry, whatever the database: mappings in the
order of the token and journey models (other keys sorted), JSON with sorted keys, an
indent and a final newline, body files named by a fixed rule (bodies with the same
source share one file, as ``pdf`` and ``html`` share ``document.html``), asset files
named by what they are (``logo.svg``, ``<family>-<weight>-<style>.ttf``). Loading an
export into the registry it came from makes no new versions; exporting what was loaded
gives the same bytes.

Each ``<locale>.po`` is what ``ccm i18n extract`` would write for the exported folder,
translated as stored (:mod:`ccm.registry.export_catalogs`).

The folder is written beside its place and moved in when complete, so a failed export
leaves nothing half-written. A folder with files in it (other than hidden ones such as
``.git``) is refused unless forced; forced, its registry files are replaced as a whole
and anything else in it (a README, ``.git``) is kept.
"""

from __future__ import annotations

import itertools
import json
import re
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args, get_origin

import yaml
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from ccm.assets.service import get_assets
from ccm.brand.models import Brand
from ccm.brand.service import latest_brand_version, list_brands, parent_brand
from ccm.brand.tokens import BrandTokens
from ccm.errors import NotFoundError, RegistryError
from ccm.journeys.definition import JourneyDef, communications_of
from ccm.journeys.service import get_journey_version, list_journeys
from ccm.registry.export_catalogs import write_catalogs
from ccm.templates.models import Block, BlockKind, BlockVersion, KindProfile
from ccm.templates.service import get_template_version, list_templates, published_blocks
from ccm.versioning import VersionStatus

#: The entries of a registry folder: what a forced export replaces.
REGISTRY_ENTRIES = ("registry.yaml", "brands", "layouts", "blocks", "templates", "journeys")

#: Body files by channel, in the order channels are named: the first channel of a group
#: with the same source names the file they share.
_BODY_FILES = {"pdf": "document.html", "html": "document.html", "email": "email.html",
               "email_text": "email.txt", "sms": "sms.txt"}
_TEMPLATE_FILES = frozenset({"template.yaml", "schema.json", "sample.json"})
_EXTENSIONS = {"image/svg+xml": "svg", "image/png": "png", "image/jpeg": "jpg",
               "image/gif": "gif", "font/ttf": "ttf", "font/otf": "otf", "font/woff": "woff",
               "font/woff2": "woff2"}


@dataclass
class ExportReport:
    """What an export wrote (``kind``, ``key``, ``version``), what it left out and why,
    content that will not load back exactly as stored, and the folder's other entries
    it kept."""

    root: Path
    written: list[tuple[str, str, int]] = field(default_factory=list)
    skipped: list[tuple[str, str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)


def export_registry(session: Session, root: Path, *, force: bool = False) -> ExportReport:
    """Write the live registry into ``root`` (new or empty; with ``force``, replacing the
    registry files of a folder that has some)."""
    root = root.absolute()
    _check_target(root, force)
    root.parent.mkdir(parents=True, exist_ok=True)
    report = ExportReport(root)
    staging = Path(tempfile.mkdtemp(prefix=f".{root.name}.export-", dir=root.parent))
    try:
        _write_registry(session, staging, report)
        _move_in(staging, root, report)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return report


def _check_target(root: Path, force: bool) -> None:
    if root.exists() and not root.is_dir():
        raise RegistryError(f"{root} is not a folder")
    if not root.exists() or force:
        return
    visible = sorted(p.name for p in root.iterdir() if not p.name.startswith("."))
    if visible:
        shown = ", ".join(visible[:5]) + (", …" if len(visible) > 5 else "")
        raise RegistryError(f"{root} is not empty ({shown}); export into a new or empty "
                            "folder, or force the export (--force) to replace its registry "
                            "files")


def _move_in(staging: Path, root: Path, report: ExportReport) -> None:
    """Put the finished export in ``root``'s place, keeping ``root``'s other entries."""
    if not root.exists():
        staging.rename(root)
        return
    report.kept = sorted(p.name for p in root.iterdir() if p.name not in REGISTRY_ENTRIES)
    trash = Path(tempfile.mkdtemp(prefix=f".{root.name}.replaced-", dir=root.parent))
    moved_out: list[str] = []
    moved_in: list[str] = []
    try:
        for name in REGISTRY_ENTRIES:
            if (root / name).exists() or (root / name).is_symlink():
                (root / name).rename(trash / name)
                moved_out.append(name)
        for entry in sorted(staging.iterdir()):
            entry.rename(root / entry.name)
            moved_in.append(entry.name)
    except OSError as exc:
        for name in moved_in:
            (root / name).rename(staging / name)
        for name in moved_out:
            (trash / name).rename(root / name)
        raise RegistryError(f"could not replace the registry files in {root}: {exc}") from None
    finally:
        shutil.rmtree(trash, ignore_errors=True)


# -- writing -------------------------------------------------------------------------


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True  # the same value twice is written twice, never as an anchor


def _write_yaml(path: Path, value: Mapping[str, Any]) -> None:
    text = yaml.dump(dict(value), Dumper=_Dumper, sort_keys=False, allow_unicode=True,
                     default_flow_style=False, width=100)
    _write_text(path, text)


def _write_json(path: Path, value: Any) -> None:
    _write_text(path, json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True) + "\n")


def _write_text(path: Path, text: str) -> None:
    _write_bytes(path, text.encode("utf-8"))  # bytes: line endings exactly as stored


def _write_bytes(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)


def _write_registry(session: Session, root: Path, report: ExportReport) -> None:
    profiles = session.scalars(select(KindProfile)).all()
    settings: dict[str, Any] = {}
    if profiles:
        settings["kinds"] = {row.kind.value: {"pdf_variant": row.pdf_variant}
                             for row in sorted(profiles, key=lambda row: row.kind.value)}
    # What each block and layout is for (not versioned, so not in its file).
    for kind, folder in ((BlockKind.LAYOUT, "layouts"), (BlockKind.BLOCK, "blocks")):
        described = {block.key: block.description for block in session.scalars(
            select(Block).where(Block.kind == kind, Block.deleted_at.is_(None),
                                Block.description != "").order_by(Block.key))}
        if described:
            settings[folder] = described
    if settings:
        _write_yaml(root / "registry.yaml", settings)
    brands = _write_brands(session, root, report)
    _write_blocks(session, root, report)
    templates = _write_templates(session, root, brands, report)
    _write_journeys(session, root, templates, report)


def _write_brands(session: Session, root: Path, report: ExportReport) -> set[str]:
    written: set[str] = set()
    for brand in list_brands(session):
        row = latest_brand_version(session, brand.key)
        if row is None:
            report.skipped.append(("brand", brand.key, "no published version"))
            continue
        parent = parent_brand(session, brand)
        tokens = row.tokens if parent is None else (row.overrides or {})
        folder = root / "brands" / brand.key
        folder.mkdir(parents=True)
        spec: dict[str, Any] = {"name": brand.name}
        if parent is not None:
            spec["parent"] = parent.key
        spec["tokens"] = _tokens_with_files(session, folder, _ordered(tokens, BrandTokens))
        _write_yaml(folder / "brand.yaml", spec)
        report.written.append(("brand", brand.key, row.version))
        written.add(brand.key)
    return written


def _tokens_with_files(session: Session, folder: Path, tokens: dict[str, Any]
                       ) -> dict[str, Any]:
    """``tokens`` with each asset digest written to a file in ``folder`` and replaced by
    the file's name."""
    names = _AssetNames()
    logo = tokens.get("logo")
    faces = (tokens.get("fonts") or {}).get("faces") or []
    digests = [logo[v] for v in ("svg", "png") if isinstance(logo, dict) and v in logo]
    digests += [face["asset"] for face in faces if "asset" in face]
    assets = get_assets(session, digests)

    def write(digest: str, stem: str, fallback: str) -> str:
        ext = _EXTENSIONS.get(assets[digest].media_type, "bin")
        name, new = names.name(digest, f"{stem}.{ext}", f"{fallback}.{ext}")
        if new:
            (folder / name).write_bytes(assets[digest].content)
        return name

    if isinstance(logo, dict):
        tokens["logo"] = {key: write(value, "logo", f"logo-{key}") if key in ("svg", "png")
                          else value for key, value in logo.items()}
    if faces:
        written = []
        for face in faces:
            stem = "-".join((_slug(str(face.get("family", "font"))),
                             str(face.get("weight", 400)), str(face.get("style", "normal"))))
            written.append({key: value for key, value in face.items() if key != "asset"}
                           | {"file": write(face["asset"], stem, stem)})
        tokens["fonts"] = {**tokens["fonts"], "faces": written}
    return tokens


@dataclass
class _AssetNames:
    """File names in one brand folder: one per asset, never two assets under one name."""

    by_digest: dict[str, str] = field(default_factory=dict)

    def name(self, digest: str, wanted: str, fallback: str) -> tuple[str, bool]:
        """The asset's file name, and whether it is new (to be written)."""
        if digest in self.by_digest:
            return self.by_digest[digest], False
        taken = set(self.by_digest.values()) | {"brand.yaml"}
        stem, ext = fallback.rsplit(".", 1)
        numbered = (f"{stem}-{number}.{ext}" for number in itertools.count(2))
        name = next(n for n in itertools.chain((wanted, fallback), numbered) if n not in taken)
        self.by_digest[digest] = name
        return name, True


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "font"


def _write_blocks(session: Session, root: Path, report: ExportReport) -> None:
    folders = {BlockKind.LAYOUT: "layouts", BlockKind.BLOCK: "blocks"}
    for block in session.scalars(select(Block).order_by(Block.key)):
        if block.deleted_at is not None:
            report.skipped.append((block.kind.value, block.key, "deleted"))
            continue
        row = session.scalar(
            select(BlockVersion).where(BlockVersion.block_id == block.id,
                                       BlockVersion.status == VersionStatus.PUBLISHED)
            .order_by(BlockVersion.version.desc()).limit(1))
        if row is None:
            report.skipped.append((block.kind.value, block.key, "no published version"))
            continue
        _write_text(root / folders[block.kind] / f"{block.key}.html", row.source)
        report.written.append((block.kind.value, block.key, row.version))


def _write_templates(session: Session, root: Path, brands: set[str], report: ExportReport
                     ) -> set[str]:
    written: set[str] = set()
    brand_keys = {row.id: row.key for row in session.execute(select(Brand.id, Brand.key))}
    live = {name: version for name, (version, _) in published_blocks(session).items()}
    for template in list_templates(session):
        brand = brand_keys[template.brand_id]
        if brand not in brands:
            report.skipped.append(("template", template.key, f"its brand {brand!r} is not "
                                                             "exported"))
            continue
        try:
            row = get_template_version(session, template.key)
        except NotFoundError:
            report.skipped.append(("template", template.key, "no published version"))
            continue
        folder = root / "templates" / template.key
        spec: dict[str, Any] = {
            "kind": template.kind.value, "brand": brand, "description": template.description,
            "journey": row.journey_key, "stage": row.stage_key,
            "default_locale": row.default_locale,
        }
        if row.subject is not None:
            spec["subject"] = row.subject
        if row.sms_max_segments is not None:
            spec["sms_max_segments"] = row.sms_max_segments
        spec["email_attach_pdf"] = row.email_attach_pdf
        spec["bodies"] = _write_bodies(folder, row.bodies)
        spec["schema"], spec["sample_data"] = "schema.json", "sample.json"
        _write_yaml(folder / "template.yaml", spec)
        _write_json(folder / "schema.json", row.data_schema)
        _write_json(folder / "sample.json", row.sample_data)
        report.warnings += write_catalogs(root, folder, template.key, row.translations)
        report.warnings += _stale_pins(template.key, row.version, row.block_pins or {}, live)
        report.written.append(("template", template.key, row.version))
        written.add(template.key)
    return written


def _stale_pins(key: str, version: int, pins: Mapping[str, int], live: Mapping[str, int]
                ) -> list[str]:
    """A bundle holds each block once, at its live version: a template sent with an older
    one would be sent with the live one after an import (its files are what was
    reviewed), so say so before that happens."""
    return [f"template {key} v{version} is sent with {name} v{pinned}, but the bundle holds "
            f"{name} v{live[name]}: importing it sends the template with v{live[name]}"
            for name, pinned in sorted(pins.items()) if name in live and live[name] != pinned]


def _write_bodies(folder: Path, bodies: Mapping[str, str]) -> dict[str, str]:
    """Each body in its file, channels with the same source sharing one; the channel ->
    file mapping template.yaml names."""
    channels = [c for c in _BODY_FILES if c in bodies] + sorted(set(bodies) - set(_BODY_FILES))
    by_source: dict[str, str] = {}
    taken = set(_TEMPLATE_FILES)
    named: dict[str, str] = {}
    for channel in channels:
        source = bodies[channel]
        if source not in by_source:
            wanted = _BODY_FILES.get(channel, f"{channel}.txt")
            name = wanted if wanted not in taken else f"{channel}-{wanted}"
            taken.add(name)
            by_source[source] = name
            _write_text(folder / name, source)
        named[channel] = by_source[source]
    return named


def _write_journeys(session: Session, root: Path, templates: set[str], report: ExportReport
                    ) -> None:
    for journey in list_journeys(session):
        try:
            row = get_journey_version(session, journey.key)
        except NotFoundError:
            report.skipped.append(("journey", journey.key, "no published version"))
            continue
        definition = JourneyDef.model_validate(row.definition)
        missing = sorted({c.template for _, _, c in communications_of(definition)} - templates)
        if missing:
            report.skipped.append(("journey", journey.key, "its template(s) "
                                   f"{', '.join(missing)} are not exported"))
            continue
        _write_yaml(root / "journeys" / f"{journey.key}.yaml", _ordered(
            definition.model_dump(mode="json", by_alias=True, exclude_none=True), JourneyDef))
        report.written.append(("journey", journey.key, row.version))


# -- order ---------------------------------------------------------------------------


def _ordered(value: Any, model: type[BaseModel] | None) -> Any:
    """A copy of ``value`` with mappings in ``model``'s field order (other keys, and the
    keys of free-form mappings, sorted) at every depth: the database may not keep the
    order a mapping was stored in."""
    if isinstance(value, Mapping):
        fields = {info.alias or name: info
                  for name, info in (model.model_fields if model is not None else {}).items()}
        keys = [k for k in fields if k in value] + sorted(k for k in value if k not in fields)
        return {key: _ordered(value[key], _model_in(fields[key].annotation)
                              if key in fields else None) for key in keys}
    if isinstance(value, list | tuple):
        return [_ordered(item, model) for item in value]
    return value


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The model a field holds (itself, in a list or tuple, or optional); None for a
    free-form mapping, whose keys are data rather than fields."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if get_origin(annotation) in (dict, Mapping):
        return None
    return next((m for m in map(_model_in, get_args(annotation)) if m is not None), None)
