"""A template version's way to customers: ``draft → in_review → approved → published →
retired``, with a second person's approval on the way.

- The author writes and edits a draft; every save is linted (the findings come back with
  it), and a draft with findings cannot go to review.
- Submitting it pins the block and layout versions it reaches, so the reviewer sees what
  would be sent; someone who wrote none of it approves it (four eyes), and what was
  approved is what is sent, whatever the blocks do afterwards.
- Only an approved version can be published; only published versions are sent (the
  API, batches and journeys all resolve the latest published version).
- Rolling back publishes an earlier published version's content, with its pins, as a new
  version: history only grows.

Every step is a :class:`LifecycleAction` row: who, when, from which status to which, and
the comment given.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from ccm.db.base import utcnow
from ccm.errors import ApprovalRequiredError, FourEyesError, LifecycleError, LintFailedError
from ccm.templates.lint import LintFinding, lint_version
from ccm.templates.models import LifecycleAction, Template, TemplateVersion
from ccm.templates.service import (
    TemplateContent,
    add_template_version,
    block_pins_for,
    get_template_version,
    record_action,
    update_template_draft,
)
from ccm.versioning import VersionStatus

#: Each step: the statuses it starts from and the one it ends in.
_STEPS: dict[str, tuple[frozenset[VersionStatus], VersionStatus]] = {
    "submitted": (frozenset({VersionStatus.DRAFT}), VersionStatus.IN_REVIEW),
    "approved": (frozenset({VersionStatus.IN_REVIEW}), VersionStatus.APPROVED),
    "changes_requested": (frozenset({VersionStatus.IN_REVIEW, VersionStatus.APPROVED}),
                          VersionStatus.DRAFT),
    "published": (frozenset({VersionStatus.APPROVED}), VersionStatus.PUBLISHED),
    "retired": (frozenset({VersionStatus.PUBLISHED}), VersionStatus.RETIRED),
}


def _what(row: TemplateVersion) -> str:
    return f"template {row.template.key!r} v{row.version}"


def _step(session: Session, row: TemplateVersion, action: str, actor: str,
          comment: str) -> LifecycleAction:
    starts, ends = _STEPS[action]
    # Read the status again under a row lock: two reviewers approving at once, or an
    # approval racing a request for changes, take their turns (a no-op on SQLite, whose
    # writers are serialised anyway).
    session.execute(select(TemplateVersion.id).where(TemplateVersion.id == row.id)
                    .with_for_update())
    session.refresh(row)
    if row.status not in starts:
        allowed = " or ".join(sorted(s.value for s in starts))
        raise LifecycleError(f"{_what(row)} is {row.status.value}; only a version that is "
                             f"{allowed} can be {action.replace('_', ' ')}")
    before = row.status
    row.status = ends
    session.flush()
    return record_action(session, row, action, actor, comment, from_status=before)


def _findings_json(findings: Sequence[LintFinding]) -> list[dict[str, object]]:
    return [{"part": f.part, "line": f.line, "rule": f.rule, "message": f.message}
            for f in findings]


def create_draft(session: Session, template: Template, content: TemplateContent,
                 author: str) -> tuple[TemplateVersion, list[LintFinding]]:
    """A new draft by ``author`` and its lint findings (saving never fails on them)."""
    row = add_template_version(session, template, content, author=author)
    return row, lint_version(session, row)


def edit_draft(session: Session, row: TemplateVersion, content: TemplateContent,
               editor: str, comment: str = "") -> list[LintFinding]:
    """Replace a draft's content; its lint findings."""
    update_template_draft(session, row, content)
    record_action(session, row, "edited", editor, comment, from_status=row.status)
    return lint_version(session, row)


def submit_for_review(session: Session, row: TemplateVersion, actor: str,
                      comment: str = "") -> LifecycleAction:
    """Draft → in review, only if the brand lint passes."""
    if row.status is VersionStatus.DRAFT:
        findings = lint_version(session, row)
        if findings:
            raise LintFailedError(
                f"{_what(row)} breaks the brand rules ({len(findings)} finding(s)): "
                + "; ".join(str(f) for f in findings), _findings_json(findings))
    entry = _step(session, row, "submitted", actor, comment)
    row.block_pins = block_pins_for(session, row.bodies)
    session.flush()
    return entry


def contributors(session: Session, row: TemplateVersion) -> set[str]:
    """Everyone who wrote any of the version's content: its author and every editor."""
    editors = session.scalars(select(LifecycleAction.actor).where(
        LifecycleAction.template_version_id == row.id,
        LifecycleAction.action.in_(["created", "edited"])))
    return {name for name in (row.created_by, *editors) if name}


def approve(session: Session, row: TemplateVersion, approver: str,
            comment: str = "") -> LifecycleAction:
    """In review → approved by someone who wrote none of it, with the blocks it was
    submitted with."""
    if row.status is VersionStatus.IN_REVIEW and approver in contributors(session, row):
        raise FourEyesError(f"{_what(row)} has content written by {approver!r}; someone "
                            "who did not write it must approve it")
    return _step(session, row, "approved", approver, comment)


def request_changes(session: Session, row: TemplateVersion, reviewer: str,
                    comment: str) -> LifecycleAction:
    """Back to the author as a draft (from review, or approved but not yet published)."""
    entry = _step(session, row, "changes_requested", reviewer, comment)
    row.block_pins = None  # a draft renders with the live blocks again
    session.flush()
    return entry


def publish_version(session: Session, row: TemplateVersion, actor: str,
                    comment: str = "") -> LifecycleAction | None:
    """Approved → published: from now on it is what customers get. Publishing a
    published version again changes nothing (a retried request)."""
    if row.status is VersionStatus.PUBLISHED:
        return None
    if row.status in (VersionStatus.DRAFT, VersionStatus.IN_REVIEW):
        raise ApprovalRequiredError(
            f"{_what(row)} is {row.status.value}: it must be submitted for review and "
            "approved by another person before it is published")
    entry = _step(session, row, "published", actor, comment)
    row.published_at = utcnow()
    session.flush()
    return entry


def retire(session: Session, row: TemplateVersion, actor: str,
           comment: str = "") -> LifecycleAction:
    """Published → retired: no longer sent (the previous published version is live
    again, if there is one); its records stay explainable."""
    return _step(session, row, "retired", actor, comment)


def roll_back(session: Session, template: Template, to_version: int, actor: str,
              comment: str = "") -> TemplateVersion:
    """Publish version ``to_version``'s content, with the block versions it was approved
    with, as a new version."""
    source = get_template_version(session, template.key, to_version, published_only=False)
    if source.status not in (VersionStatus.PUBLISHED, VersionStatus.RETIRED):
        raise LifecycleError(
            f"{_what(source)} is {source.status.value}; only a version that was published "
            "can be rolled back to")
    row = add_template_version(session, template, TemplateContent.of(source), author=actor)
    row.block_pins = dict(source.block_pins) if source.block_pins is not None else \
        block_pins_for(session, row.bodies)
    row.status, row.published_at = VersionStatus.PUBLISHED, utcnow()
    session.flush()
    record_action(session, row, "rolled_back", actor,
                  comment or f"content of v{to_version}", from_status=VersionStatus.DRAFT)
    return row


def history(session: Session, row: TemplateVersion) -> Sequence[LifecycleAction]:
    return session.scalars(select(LifecycleAction)
                           .where(LifecycleAction.template_version_id == row.id)
                           .order_by(LifecycleAction.id)).all()
