"""Template registry: templates, shared layouts and blocks, their versions and checks."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from ccm.brand.models import Brand
from ccm.brand.service import brand_spec, get_brand, published_brand_version
from ccm.brand.tokens import check_locale
from ccm.db.base import utcnow
from ccm.errors import CCMError, ConflictError, NotFoundError, RegistryError
from ccm.rendering.engine import RESERVED_NAMES, default_renderer
from ccm.rendering.spec import (
    DEFAULT_PDF_VARIANT,
    PDF_VARIANTS,
    BrandSpec,
    Channel,
    TemplateSpec,
)
from ccm.templates.includes import reached_blocks, referenced_names
from ccm.templates.models import (
    Block,
    BlockKind,
    BlockVersion,
    KindProfile,
    LifecycleAction,
    Template,
    TemplateKind,
    TemplateVersion,
)
from ccm.versioning import REGISTRY_LOADER, VersionStatus
from ccm.versioning_service import ensure_editable, publish

#: Body keys a template version may carry: the four channels plus an explicit email text.
BODY_KEYS = frozenset({c.value for c in Channel} | {"email_text"})


@dataclass
class TemplateContent:
    """What a template version holds; validated before it is stored."""

    journey_key: str
    stage_key: str
    bodies: dict[str, str]
    default_locale: str = "en_GB"
    subject: str | None = None
    data_schema: dict[str, Any] = field(default_factory=dict)
    sample_data: dict[str, Any] = field(default_factory=dict)
    translations: dict[str, dict[str, Any]] = field(default_factory=dict)
    sms_max_segments: int | None = None
    #: An email of this template carries its PDF as an attachment (a bill, say).
    email_attach_pdf: bool = False

    @classmethod
    def of(cls, row: TemplateVersion, **changes: Any) -> TemplateContent:
        """A copy of a stored version's content, with ``changes`` applied."""
        fields = {name: getattr(row, name) for name in cls.__dataclass_fields__}
        fields.update(changes)
        return cls(**fields)

    def as_columns(self) -> dict[str, Any]:
        return {
            "journey_key": self.journey_key, "stage_key": self.stage_key,
            "bodies": self.bodies, "default_locale": self.default_locale,
            "subject": self.subject, "data_schema": self.data_schema,
            "sample_data": self.sample_data, "translations": self.translations,
            "sms_max_segments": self.sms_max_segments,
            "email_attach_pdf": self.email_attach_pdf,
        }


# -- blocks and layouts --------------------------------------------------------------


def block_name(block: Block) -> str:
    """The name templates include a block by: ``layout/document``, ``block/footer``."""
    return f"{block.kind.value}/{block.key}"


def ensure_block(session: Session, key: str, kind: BlockKind, description: str = "") -> Block:
    block = session.scalar(select(Block).where(Block.key == key, Block.kind == kind))
    if block is None:
        block = Block(key=key, kind=kind, description=description)
        session.add(block)
        session.flush()
    elif block.deleted_at is not None:  # made again: its old versions are its history
        block.deleted_at = None
    return block


def add_block_version(
    session: Session, block: Block, source: str, *, published: bool = False,
    author: str | None = None,
) -> BlockVersion:
    spec = TemplateSpec(key=f"block-{block.key}", version=0, kind="block", journey_key="-",
                        stage_key="-", default_locale="en", bodies={},
                        blocks={block_name(block): source})
    default_renderer().check_syntax(spec)
    latest = session.scalar(
        select(func.max(BlockVersion.version)).where(BlockVersion.block_id == block.id)
    )
    row = BlockVersion(block_id=block.id, version=(latest or 0) + 1,
                       status=VersionStatus.DRAFT, source=source,
                       created_by=author or (REGISTRY_LOADER if published else None))
    session.add(row)
    if published:
        publish(row, f"block {block.key}")
    session.flush()
    return row


def _latest_published_blocks() -> Any:
    # A deleted block is out of the include namespace; its versions stay for the record.
    latest = (
        select(BlockVersion.block_id, func.max(BlockVersion.version).label("version"))
        .join(Block, Block.id == BlockVersion.block_id)
        .where(BlockVersion.status == VersionStatus.PUBLISHED, Block.deleted_at.is_(None))
        .group_by(BlockVersion.block_id).subquery()
    )
    return (BlockVersion.block_id == latest.c.block_id) & (
        BlockVersion.version == latest.c.version), latest


def published_blocks(session: Session) -> dict[str, tuple[int, str]]:
    """Latest published (version, source) of every block and layout, by include name."""
    condition, latest = _latest_published_blocks()
    rows = session.scalars(select(BlockVersion).join(latest, condition))
    return {block_name(row.block): (row.version, row.source) for row in rows}


def published_block_stamps(session: Session) -> tuple[tuple[int, str], ...]:
    """(id, creation time) of the live block versions: changes whenever a block does,
    without loading any source."""
    condition, latest = _latest_published_blocks()
    rows = session.execute(
        select(BlockVersion.id, BlockVersion.created_at).join(latest, condition)
        .order_by(BlockVersion.id)
    )
    return tuple((row.id, row.created_at.isoformat()) for row in rows)


def pinned_blocks(session: Session, pins: Mapping[str, int]) -> dict[str, tuple[int, str]]:
    """The (version, source) of each pinned block, by include name."""
    if not pins:
        return {}
    wanted = []
    for name, version in pins.items():
        kind, _, key = name.partition("/")
        wanted.append(and_(Block.kind == BlockKind(kind), Block.key == key,
                           BlockVersion.version == version))
    rows = session.execute(
        select(Block.kind, Block.key, BlockVersion.version, BlockVersion.source)
        .join(BlockVersion, BlockVersion.block_id == Block.id).where(or_(*wanted))
    )
    found = {f"{kind.value}/{key}": (version, source) for kind, key, version, source in rows}
    missing = sorted(set(pins) - set(found))
    if missing:  # versions are never deleted, so this is a damaged registry
        raise RegistryError(f"pinned block version(s) not in the registry: {', '.join(missing)}")
    return found


def block_pins_for(session: Session, bodies: Mapping[str, str]) -> dict[str, int]:
    """The live version of every block and layout ``bodies`` reach, directly or through
    other blocks: what a version approved now is pinned to."""
    live = published_blocks(session)
    sources = {name: source for name, (_, source) in live.items()}
    reached: set[str] = set()
    for body in bodies.values():
        reached |= set(reached_blocks(referenced_names(body), sources))
    return {name: live[name][0] for name in sorted(reached) if name in live}


def latest_block_version(session: Session, block: Block) -> BlockVersion | None:
    return session.scalar(
        select(BlockVersion).where(BlockVersion.block_id == block.id)
        .order_by(BlockVersion.version.desc()).limit(1)
    )


# -- kinds ---------------------------------------------------------------------------


def set_kind_profile(session: Session, kind: TemplateKind, pdf_variant: str) -> None:
    if pdf_variant not in PDF_VARIANTS:
        raise RegistryError(
            f"PDF variant {pdf_variant!r} for {kind.value} is not one of {', '.join(PDF_VARIANTS)}"
        )
    row = session.get(KindProfile, kind)
    if row is None:
        session.add(KindProfile(kind=kind, pdf_variant=pdf_variant))
    else:
        row.pdf_variant = pdf_variant
    session.flush()


def pdf_variant_for(session: Session, kind: TemplateKind) -> str:
    row = session.get(KindProfile, kind)
    return row.pdf_variant if row else DEFAULT_PDF_VARIANT


def parse_kind(value: str) -> TemplateKind:
    try:
        return TemplateKind(value)
    except ValueError:
        raise RegistryError(
            f"unknown template kind {value!r}; expected one of "
            f"{', '.join(k.value for k in TemplateKind)}"
        ) from None


# -- templates -----------------------------------------------------------------------


def get_template(session: Session, key: str) -> Template:
    template = session.scalar(select(Template).where(Template.key == key))
    if template is None:
        raise NotFoundError(f"template {key!r} is not in the registry")
    return template


def create_template(
    session: Session, key: str, kind: TemplateKind, brand_key: str, description: str = ""
) -> Template:
    """A new template; its key must be free."""
    if session.scalar(select(Template.id).where(Template.key == key)) is not None:
        raise ConflictError(f"template {key!r} already exists; add a version instead")
    return ensure_template(session, key, kind, brand_key, description)


def ensure_template(
    session: Session, key: str, kind: TemplateKind, brand_key: str, description: str = ""
) -> Template:
    brand = get_brand(session, brand_key)
    template = session.scalar(select(Template).where(Template.key == key))
    if template is None:
        template = Template(key=key, kind=kind, brand_id=brand.id, description=description)
        session.add(template)
        session.flush()
    elif template.kind is not kind:
        raise RegistryError(
            f"template {key!r} is a {template.kind.value}; a key cannot change kind"
        )
    else:
        template.brand_id, template.description = brand.id, description
    return template


def validate_content(session: Session, template: Template, content: TemplateContent) -> None:
    """Every problem with ``content`` in one RegistryError."""
    problems: list[str] = []
    where = f"template {template.key!r}"
    if not content.journey_key.strip() or not content.stage_key.strip():
        problems.append("a journey stage tag (journey and stage) is required")
    unknown = set(content.bodies) - BODY_KEYS
    if unknown:
        problems.append(f"unknown body channel(s): {', '.join(sorted(unknown))}")
    if not any(c.value in content.bodies for c in Channel):
        problems.append("at least one channel body (pdf, html, email, sms) is required")
    if "email_text" in content.bodies and "email" not in content.bodies:
        problems.append("an email_text body needs an email body")
    try:
        content.default_locale = check_locale(content.default_locale)
    except ValueError as exc:
        problems.append(str(exc))
    for locale in list(content.translations):
        try:
            check_locale(locale)
        except ValueError as exc:
            problems.append(f"translations: {exc}")
    if content.sms_max_segments is not None and content.sms_max_segments < 1:
        problems.append("sms_max_segments must be at least 1")
    problems.extend(_schema_problems(content))
    if problems:
        raise RegistryError(f"{where} is invalid: " + "; ".join(problems))
    spec = template_spec_from(session, template, 0, content)
    try:
        default_renderer().check_syntax(spec)
        for channel in spec.channels:
            default_renderer().render(
                spec, brand_spec_for(session, template), content.sample_data,
                content.default_locale, channel,
            )
    except CCMError as exc:
        raise RegistryError(f"{where} does not render its sample data: {exc.detail}") from exc


def _schema_problems(content: TemplateContent) -> list[str]:
    if not content.data_schema:
        return ["a JSON Schema for the data is required"]
    try:
        Draft202012Validator.check_schema(content.data_schema)
    except SchemaError as exc:
        return [f"the data schema is not valid JSON Schema: {exc.message}"]
    clash = RESERVED_NAMES & set(content.data_schema.get("properties", {}))
    if clash:
        return [f"data properties {', '.join(sorted(clash))} are reserved by the renderer"]
    return []


def brand_spec_for(session: Session, template: Template) -> BrandSpec:
    brand = session.get(Brand, template.brand_id)
    assert brand is not None
    return brand_spec(session, published_brand_version(session, brand.key))


def add_template_version(
    session: Session, template: Template, content: TemplateContent, *, published: bool = False,
    author: str | None = None,
) -> TemplateVersion:
    """A new draft by ``author``. ``published`` is for versions imported from files
    (``ccm registry load``), whose review happened where the files are kept: they are
    published at once, pinned to the live blocks, and recorded as imported."""
    validate_content(session, template, content)
    latest = session.scalar(
        select(func.max(TemplateVersion.version)).where(TemplateVersion.template_id == template.id)
    )
    author = author or (REGISTRY_LOADER if published else None)
    row = TemplateVersion(template_id=template.id, version=(latest or 0) + 1,
                          status=VersionStatus.DRAFT, created_by=author, **content.as_columns())
    session.add(row)
    if published:
        row.block_pins = block_pins_for(session, row.bodies)
        publish(row, f"template {template.key}")
    session.flush()
    record_action(session, row, "imported" if published else "created", author or "unknown",
                  from_status=None)
    return row


def record_action(
    session: Session, row: TemplateVersion, action: str, actor: str, comment: str = "", *,
    from_status: VersionStatus | None,
) -> LifecycleAction:
    """One line of the version's history; ``to_status`` is the status it has after."""
    entry = LifecycleAction(
        template_version_id=row.id, action=action, actor=actor, comment=comment,
        from_status=from_status.value if from_status is not None else None,
        to_status=row.status.value,
        at=utcnow())
    session.add(entry)
    session.flush()
    return entry


def update_template_draft(session: Session, row: TemplateVersion, content: TemplateContent) -> None:
    ensure_editable(row, f"template {row.template.key}")
    validate_content(session, row.template, content)
    for name, value in content.as_columns().items():
        setattr(row, name, value)
    session.flush()


def get_template_version(
    session: Session, key: str, version: int | None = None, *, published_only: bool = True
) -> TemplateVersion:
    """A given version of ``key``, or its latest published one."""
    template = get_template(session, key)
    query = select(TemplateVersion).where(TemplateVersion.template_id == template.id)
    if version is not None:
        row = session.scalar(query.where(TemplateVersion.version == version))
        if row is None:
            raise NotFoundError(f"template {key!r} has no version {version}")
        if published_only and row.status is not VersionStatus.PUBLISHED:
            raise NotFoundError(f"template {key!r} v{version} is {row.status.value}, not published")
        return row
    if published_only:
        query = query.where(TemplateVersion.status == VersionStatus.PUBLISHED)
    row = session.scalar(query.order_by(TemplateVersion.version.desc()).limit(1))
    if row is None:
        raise NotFoundError(f"template {key!r} has no published version")
    return row


def latest_template_version(session: Session, template: Template, *,
                            published_only: bool = False) -> TemplateVersion | None:
    query = select(TemplateVersion).where(TemplateVersion.template_id == template.id)
    if published_only:
        query = query.where(TemplateVersion.status == VersionStatus.PUBLISHED)
    return session.scalar(query.order_by(TemplateVersion.version.desc()).limit(1))


def template_spec_from(
    session: Session, template: Template, version: int, content: TemplateContent | TemplateVersion,
    blocks: Mapping[str, tuple[int, str]] | None = None,
) -> TemplateSpec:
    blocks = blocks if blocks is not None else published_blocks(session)
    return TemplateSpec(
        key=template.key, version=version, kind=template.kind.value,
        journey_key=content.journey_key, stage_key=content.stage_key,
        default_locale=content.default_locale, bodies=dict(content.bodies),
        blocks={name: source for name, (_, source) in blocks.items()},
        block_versions={name: number for name, (number, _) in blocks.items()},
        subject=content.subject, data_schema=content.data_schema,
        sample_data=content.sample_data, translations=content.translations,
        sms_max_segments=content.sms_max_segments,
        email_attach_pdf=content.email_attach_pdf,
        pdf_variant=pdf_variant_for(session, template.kind),
    )


def template_spec(session: Session, row: TemplateVersion) -> TemplateSpec:
    """A version as it renders: once submitted, with the block versions it was submitted
    (and approved) with; a draft with the live blocks."""
    blocks = pinned_blocks(session, row.block_pins) if row.block_pins is not None else None
    return template_spec_from(session, row.template, row.version, row, blocks)


def list_templates(
    session: Session, *, kind: TemplateKind | None = None, brand_key: str | None = None
) -> Sequence[Template]:
    query = select(Template).order_by(Template.key)
    if kind is not None:
        query = query.where(Template.kind == kind)
    if brand_key is not None:
        query = query.join(Brand, Brand.id == Template.brand_id).where(Brand.key == brand_key)
    return session.scalars(query).all()


def list_template_versions(session: Session, template_key: str) -> Sequence[TemplateVersion]:
    template = get_template(session, template_key)
    return session.scalars(select(TemplateVersion).where(
        TemplateVersion.template_id == template.id).order_by(TemplateVersion.version)).all()
