"""Load brands, layouts, blocks and templates from a folder of plain files.

The folder layout::

    registry.yaml                 optional: per-kind settings (PDF variant), and what
                                  each block and layout is for (`blocks:`/`layouts:`
                                  mapping keys to descriptions)
    brands/<key>/brand.yaml       name, optional parent (a brand key: this one is then a
                                  sub-brand and its tokens are the overrides), tokens;
                                  logo and font files named relative
    brands/<key>/<files>          the logo (SVG and PNG) and fonts
    layouts/<key>.html            included as "layout/<key>"
    blocks/<key>.html             included as "block/<key>"
    templates/<key>/template.yaml kind, brand, journey/stage, bodies, schema, sample data
    templates/<key>/locales/<locale>.po   gettext catalogs
    journeys/<key>.yaml           journey definitions (YAML or .json), checked against
                                  the templates loaded before them

Loading is idempotent: an entry whose content equals its latest version gets no new
version, so loading the same folder twice changes nothing. Parents load before their
sub-brands (a parent outside the folder must be in the registry already). A sub-brand
gets a new version when its overrides change or when its parent's latest published
version is not the one its latest version was laid over (the folder says "the parent,
as it is now, with these overrides"). A brand whose latest version is an equal draft has
it published, as a journey's is, when the load publishes.

Text files (bodies, layouts, blocks) are read byte for byte (UTF-8, line endings kept),
so what ``ccm registry export`` writes loads back as the very content it came from.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from babel.messages.pofile import read_po
from sqlalchemy.orm import Session

from ccm.assets.service import guess_media_type, put_asset
from ccm.brand.models import Brand, BrandVersion
from ccm.brand.service import (
    add_brand_version,
    ensure_brand,
    latest_brand_version,
    parent_brand,
    publish_loaded_brand_version,
    validate_tokens,
)
from ccm.errors import RegistryError
from ccm.templates.models import BlockKind
from ccm.templates.service import (
    TemplateContent,
    add_block_version,
    add_template_version,
    ensure_block,
    ensure_template,
    latest_block_version,
    latest_template_version,
    parse_kind,
    set_kind_profile,
)
from ccm.versioning import REGISTRY_LOADER, VersionStatus

_KEY_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-_")


@dataclass
class LoadReport:
    """What a load created (``kind``, ``key``, ``version``) and what it left unchanged."""

    created: list[tuple[str, str, int]] = field(default_factory=list)
    unchanged: list[tuple[str, str, int]] = field(default_factory=list)


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise RegistryError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(loaded, dict):
        raise RegistryError(f"{path}: expected a mapping at the top level")
    return loaded


def _read_json(path: Path) -> dict[str, Any]:
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise RegistryError(f"{path}: not valid JSON: {exc}") from None
    if not isinstance(loaded, dict):
        raise RegistryError(f"{path}: expected a JSON object")
    return loaded


def _read_text(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RegistryError(f"{path}: not UTF-8 text: {exc}") from None


def _check_key(key: str, path: Path) -> str:
    if not key or not set(key) <= _KEY_CHARS:
        raise RegistryError(f"{path}: {key!r} is not a valid key (a-z, 0-9, '-', '_')")
    return key


def _file(folder: Path, name: Any, what: str) -> Path:
    if not isinstance(name, str):
        raise RegistryError(f"{folder}: {what} must name a file")
    path = (folder / name).resolve()
    if folder.resolve() not in path.parents or not path.is_file():
        raise RegistryError(f"{folder}: {what} {name!r} is not a file inside the folder")
    return path


def load_registry(session: Session, root: Path, *, publish: bool = True) -> LoadReport:
    """Load everything under ``root``; new versions are published unless ``publish`` is off."""
    if not root.is_dir():
        raise RegistryError(f"{root} is not a folder")
    report = LoadReport()
    settings_path = root / "registry.yaml"
    settings = _read_yaml(settings_path) if settings_path.is_file() else {}
    for kind, profile in (settings.get("kinds") or {}).items():
        set_kind_profile(session, parse_kind(kind), str(profile.get("pdf_variant")))
    for brand_dir, spec in _brands_parents_first(root / "brands"):
        _load_brand(session, brand_dir, spec, publish, report)
    for kind, folder in ((BlockKind.LAYOUT, "layouts"), (BlockKind.BLOCK, "blocks")):
        descriptions = settings.get(folder) or {}
        if not isinstance(descriptions, dict):
            raise RegistryError(f"{settings_path}: {folder!r} must map keys to descriptions")
        for path in sorted((root / folder).glob("*.html")):
            _load_block(session, kind, path, publish, report,
                        str(descriptions.get(path.stem) or ""))
    for template_dir in sorted(p for p in (root / "templates").glob("*") if p.is_dir()):
        _load_template(session, template_dir, publish, report)
    for path in sorted((root / "journeys").glob("*")):
        if path.suffix in (".yaml", ".yml", ".json"):
            _load_journey(session, path, publish, report)
    return report


def _load_journey(session: Session, path: Path, publish: bool, report: LoadReport) -> None:
    from ccm.journeys.service import add_journey_version

    raw = _read_json(path) if path.suffix == ".json" else _read_yaml(path)
    if raw.get("key") != path.stem:
        raise RegistryError(f"{path}: key {raw.get('key')!r} must match the file name "
                            f"{path.stem!r}")
    row, created = add_journey_version(session, raw, publish_now=publish)
    (report.created if created else report.unchanged).append(("journey", path.stem,
                                                              row.version))


def _brands_parents_first(folder: Path) -> list[tuple[Path, dict[str, Any]]]:
    """The brand folders with their brand.yaml, each parent before its sub-brands (by key
    otherwise); brands that name each other as parents are refused."""
    specs: dict[str, tuple[Path, dict[str, Any]]] = {}
    for brand_dir in sorted(p for p in folder.glob("*") if p.is_dir()):
        spec = _read_yaml(brand_dir / "brand.yaml")
        parent = spec.get("parent")
        if parent is not None and not isinstance(parent, str):
            raise RegistryError(f"{brand_dir}/brand.yaml: parent must be a brand key")
        specs[_check_key(brand_dir.name, brand_dir)] = (brand_dir, spec)
    ordered: list[tuple[Path, dict[str, Any]]] = []
    placed: set[str] = set()

    def place(key: str, trail: tuple[str, ...]) -> None:
        if key in placed:
            return
        if key in trail:
            cycle = " → ".join((*trail[trail.index(key):], key))
            raise RegistryError(f"{folder}: brands name each other as parents ({cycle})")
        parent = specs[key][1].get("parent")
        if parent in specs:
            place(parent, (*trail, key))
        placed.add(key)
        ordered.append(specs[key])

    for key in specs:
        place(key, ())
    return ordered


def _with_assets(session: Session, folder: Path, tokens: dict[str, Any]) -> dict[str, Any]:
    """``tokens`` with the logo and font files they name stored and named by digest; only
    what is given is touched (a sub-brand's overrides name what they change)."""

    def store(name: Any, what: str) -> str:
        path = _file(folder, name, what)
        return put_asset(session, path.read_bytes(), guess_media_type(path.name)).sha256

    logo = tokens.get("logo")
    if isinstance(logo, dict):
        tokens["logo"] = {name: store(value, f"logo.{name}") if name in ("svg", "png")
                          else value for name, value in logo.items()}
    fonts = tokens.get("fonts")
    if isinstance(fonts, dict) and "faces" in fonts:
        faces = fonts["faces"] or []
        if not isinstance(faces, list) or not all(isinstance(f, dict) for f in faces):
            raise RegistryError(f"{folder}/brand.yaml: fonts.faces must be a list of faces, "
                                "each naming its file")
        tokens["fonts"] = {**fonts, "faces": [
            {name: value for name, value in face.items() if name != "file"}
            | {"asset": store(face.get("file"), "font file")}
            for face in faces
        ]}
    return tokens


def _load_brand(session: Session, folder: Path, spec: dict[str, Any], publish: bool,
                report: LoadReport) -> None:
    key = folder.name
    tokens = spec.get("tokens") or {}
    if not isinstance(tokens, dict):
        raise RegistryError(f"{folder}/brand.yaml: tokens must be a mapping")
    tokens = _with_assets(session, folder, dict(tokens))
    brand = ensure_brand(session, key, str(spec.get("name") or key),
                         parent_key=spec.get("parent"))
    latest = latest_brand_version(session, key, published_only=False)
    if latest is not None and _brand_unchanged(session, brand, latest, tokens):
        if publish and latest.status is VersionStatus.DRAFT:
            publish_loaded_brand_version(session, latest)
        report.unchanged.append(("brand", key, latest.version))
        return
    # A loaded draft is the files' (they are its author): a person may publish it.
    row = add_brand_version(session, brand, tokens, published=publish, author=REGISTRY_LOADER)
    report.created.append(("brand", key, row.version))


def _brand_unchanged(session: Session, brand: Brand, latest: BrandVersion,
                     tokens: dict[str, Any]) -> bool:
    parent = parent_brand(session, brand)
    if parent is None:
        return latest.tokens == validate_tokens(tokens, brand.key).model_dump(mode="json")
    base = latest_brand_version(session, parent.key)
    return (latest.overrides == tokens and base is not None
            and latest.parent_version_id == base.id)


def _load_block(
    session: Session, kind: BlockKind, path: Path, publish: bool, report: LoadReport,
    description: str = "",
) -> None:
    key = _check_key(path.stem, path)
    source = _read_text(path)
    block = ensure_block(session, key, kind, description)
    block.description = description  # not versioned: what the block is for, as filed
    latest = latest_block_version(session, block)
    if latest is not None and latest.source == source:
        report.unchanged.append((kind.value, key, latest.version))
        return
    row = add_block_version(session, block, source, published=publish)
    report.created.append((kind.value, key, row.version))


def _read_catalogs(folder: Path) -> dict[str, dict[str, Any]]:
    catalogs: dict[str, dict[str, Any]] = {}
    for path in sorted((folder / "locales").glob("*.po")):
        with path.open("rb") as handle:
            try:
                catalog = read_po(handle, locale=path.stem)
            except Exception as exc:  # babel raises plain errors on a broken catalog
                raise RegistryError(f"{path}: not a readable gettext catalog: {exc}") from None
        messages: dict[str, Any] = {}
        for message in catalog:
            # A fuzzy entry is a guess awaiting review, and an empty plural would stop the
            # fallback (de_AT -> de) at a catalog that has nothing to say.
            if not message.id or not message.string or message.fuzzy:
                continue
            if isinstance(message.string, tuple | list) and not any(message.string):
                continue
            if isinstance(message.id, tuple | list):
                messages[str(message.id[0])] = list(message.string)
            else:
                messages[str(message.id)] = message.string
        catalogs[path.stem] = messages
    return catalogs


def _load_template(session: Session, folder: Path, publish: bool, report: LoadReport) -> None:
    key = _check_key(folder.name, folder)
    spec = _read_yaml(folder / "template.yaml")
    bodies_spec = spec.get("bodies")
    if not isinstance(bodies_spec, dict) or not bodies_spec:
        raise RegistryError(f"{folder}/template.yaml: 'bodies' must map channels to files")
    bodies = {
        str(channel): _read_text(_file(folder, name, f"{channel} body"))
        for channel, name in bodies_spec.items()
    }
    content = TemplateContent(
        journey_key=str(spec.get("journey") or ""),
        stage_key=str(spec.get("stage") or ""),
        bodies=bodies,
        default_locale=str(spec.get("default_locale") or "en_GB"),
        subject=spec.get("subject"),
        data_schema=_read_json(_file(folder, spec.get("schema", "schema.json"), "schema")),
        sample_data=_read_json(_file(folder, spec.get("sample_data", "sample.json"),
                                     "sample data")),
        translations=_read_catalogs(folder),
        sms_max_segments=spec.get("sms_max_segments"),
        email_attach_pdf=bool(spec.get("email_attach_pdf", False)),
    )
    template = ensure_template(
        session, key, parse_kind(str(spec.get("kind"))), str(spec.get("brand") or ""),
        str(spec.get("description") or ""),
    )
    # Published, the files are compared with what is sent (a draft with the same content
    # is no reason to leave the live version as it is); as drafts, with the latest draft.
    latest = latest_template_version(session, template, published_only=publish)
    if latest is not None and all(
        getattr(latest, name) == value for name, value in content.as_columns().items()
    ):
        report.unchanged.append(("template", key, latest.version))
        return
    row = add_template_version(session, template, content, published=publish,
                               author=REGISTRY_LOADER)
    report.created.append(("template", key, row.version))
