"""The journey registry: versions of definitions, checked against the template registry,
published, and compiled once per registry revision for the orchestrator."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from ccm.db.revision import registry_revision
from ccm.delivery.message import DeliveryChannel
from ccm.delivery.policy import BODY_FOR_CHANNEL
from ccm.errors import JourneyInvalidError, NotFoundError
from ccm.journeys.definition import (
    PREFERRED,
    CompiledJourney,
    JourneyDef,
    communications_of,
    compile_journey,
)
from ccm.journeys.models import Journey, JourneyVersion
from ccm.templates.models import Template
from ccm.templates.service import latest_template_version
from ccm.versioning import VersionStatus
from ccm.versioning_service import ensure_editable, publish


def registry_problems(session: Session, definition: JourneyDef) -> list[str]:
    """What the template registry says of a journey: unknown templates, stage tags that do
    not match, channels a template has no body for. A template is checked as it is sent
    (its latest published version), or as its latest draft while it has none."""
    problems: list[str] = []
    for where, stage_key, communication in communications_of(definition):
        template = session.scalar(select(Template).where(Template.key == communication.template))
        latest = None
        if template is not None:
            latest = (latest_template_version(session, template, published_only=True)
                      or latest_template_version(session, template))
        if template is None or latest is None:
            problems.append(f"{where}: unknown template {communication.template!r}")
            continue
        if (latest.journey_key, latest.stage_key) != (definition.key, stage_key):
            problems.append(
                f"{where}: template {communication.template!r} is tagged for "
                f"{latest.journey_key}/{latest.stage_key}, not {definition.key}/{stage_key}")
        for channel in communication.channels:
            if channel == PREFERRED:
                continue
            body = BODY_FOR_CHANNEL[DeliveryChannel(channel)]
            if body not in latest.bodies:
                problems.append(f"{where}: template {communication.template!r} has no {body} "
                                f"body for the {channel} channel")
    return problems


def check_journey(session: Session, raw: Mapping[str, Any]) -> CompiledJourney:
    """Every problem of a definition, on its own and against the registry, in one error."""
    try:
        compiled = compile_journey(raw)
    except JourneyInvalidError as exc:
        try:
            definition = JourneyDef.model_validate(raw)
        except ValidationError:
            raise exc from None
        raise JourneyInvalidError(exc.journey, exc.problems
                                  + registry_problems(session, definition)) from None
    problems = registry_problems(session, compiled.definition)
    if problems:
        raise JourneyInvalidError(compiled.key, problems)
    return compiled


def get_journey(session: Session, key: str) -> Journey:
    row = session.scalar(select(Journey).where(Journey.key == key))
    if row is None:
        raise NotFoundError(f"no journey {key!r}")
    return row


def journey_versions(session: Session, key: str) -> Sequence[JourneyVersion]:
    journey = get_journey(session, key)
    return session.scalars(select(JourneyVersion).where(JourneyVersion.journey_id == journey.id)
                           .order_by(JourneyVersion.version)).all()


def get_journey_version(session: Session, key: str, version: int | None = None, *,
                        published_only: bool = True) -> JourneyVersion:
    """A version, or the latest published one."""
    journey = get_journey(session, key)
    query = select(JourneyVersion).where(JourneyVersion.journey_id == journey.id)
    if version is not None:
        query = query.where(JourneyVersion.version == version)
    if published_only or version is None:
        query = query.where(JourneyVersion.status == VersionStatus.PUBLISHED)
    row = session.scalar(query.order_by(JourneyVersion.version.desc()).limit(1))
    if row is None:
        what = f"v{version}" if version is not None else "published version"
        raise NotFoundError(f"journey {key!r} has no {what}")
    return row


def list_journeys(session: Session) -> Sequence[Journey]:
    return session.scalars(select(Journey).order_by(Journey.key)).all()


def add_journey_version(
    session: Session, raw: Mapping[str, Any], *, publish_now: bool = True
) -> tuple[JourneyVersion, bool]:
    """Check and store a definition as a new version; a definition equal to the latest
    version's stores nothing. Returns the version and whether it is new."""
    compiled = check_journey(session, raw)
    definition = compiled.definition.model_dump(mode="json", by_alias=True, exclude_none=True)
    journey = session.scalar(select(Journey).where(Journey.key == compiled.key))
    if journey is None:
        journey = Journey(key=compiled.key, name=compiled.definition.name)
        session.add(journey)
        session.flush()
    journey.name = compiled.definition.name
    latest = session.scalar(select(JourneyVersion).where(JourneyVersion.journey_id == journey.id)
                            .order_by(JourneyVersion.version.desc()).limit(1))
    if latest is not None and latest.definition == definition:
        if publish_now:
            publish(latest, f"journey {compiled.key!r}")
        session.flush()
        return latest, False
    row = JourneyVersion(journey_id=journey.id, version=(latest.version + 1) if latest else 1,
                         status=VersionStatus.DRAFT, definition=definition)
    if publish_now:
        publish(row, f"journey {compiled.key!r}")
    session.add(row)
    session.flush()
    return row, True


def publish_journey_version(session: Session, key: str, version: int) -> JourneyVersion:
    row = get_journey_version(session, key, version, published_only=False)
    check_journey(session, row.definition)  # the registry may have changed since the draft
    publish(row, f"journey {key!r}")
    session.flush()
    return row


def update_journey_draft(session: Session, row: JourneyVersion, raw: Mapping[str, Any]) -> None:
    ensure_editable(row, f"journey {row.journey.key!r}")
    compiled = check_journey(session, raw)
    row.definition = compiled.definition.model_dump(mode="json", by_alias=True,
                                                    exclude_none=True)
    session.flush()


_compiled: dict[tuple[int, str], CompiledJourney] = {}
_live: dict[str, tuple[CompiledJourney, ...]] = {}
_lock = threading.Lock()


def compiled_version(row: JourneyVersion) -> CompiledJourney:
    """A stored version compiled (once: published versions never change)."""
    stamp = (row.id, row.created_at.isoformat())
    cached = _compiled.get(stamp)
    if cached is None or row.status is VersionStatus.DRAFT:
        cached = compile_journey(row.definition, version=row.version)
        if row.status is not VersionStatus.DRAFT:
            with _lock:
                if len(_compiled) > 256:
                    _compiled.clear()
                _compiled[stamp] = cached
    return cached


def live_journeys(session: Session) -> tuple[CompiledJourney, ...]:
    """The latest published version of every journey: what events are matched against.
    One query while the registry revision stands."""
    revision = registry_revision(session)
    cached = _live.get(revision)
    if cached is not None:
        return cached
    journeys = []
    for journey in list_journeys(session):
        try:
            journeys.append(compiled_version(get_journey_version(session, journey.key)))
        except NotFoundError:
            continue  # drafts only: not live yet
    answer = tuple(journeys)
    with _lock:
        if len(_live) > 16:
            _live.clear()
        _live[revision] = answer
    return answer

