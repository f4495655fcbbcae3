"""Resolving a template key to its specs: cached per registry revision, never stale."""

from __future__ import annotations

from sqlalchemy.orm import Session
from support import publish_reviewed

from ccm.db.revision import registry_revision
from ccm.rendering.service import resolve_specs
from ccm.templates.models import BlockKind, TemplateKind
from ccm.templates.service import (
    TemplateContent,
    add_block_version,
    add_template_version,
    ensure_block,
    get_template,
    get_template_version,
    set_kind_profile,
)


def _content_like(session: Session, key: str, **changes: object) -> TemplateContent:
    return TemplateContent.of(get_template_version(session, key), **changes)


def test_publishing_a_version_changes_what_a_key_resolves_to_at_once(session: Session) -> None:
    before, _ = resolve_specs(session, "loyalty-offer")
    revision = registry_revision(session)
    bodies = {**before.bodies, "sms": before.bodies["sms"] + " (v-next)"}
    draft = add_template_version(session, get_template(session, "loyalty-offer"),
                                 _content_like(session, "loyalty-offer", bodies=bodies))
    assert registry_revision(session) != revision
    assert resolve_specs(session, "loyalty-offer")[0].version == before.version  # a draft
    publish_reviewed(session, draft)
    after, _ = resolve_specs(session, "loyalty-offer")
    assert after.version == draft.version and after.bodies["sms"].endswith("(v-next)")
    assert resolve_specs(session, "loyalty-offer", before.version)[0].version == before.version


def test_a_new_block_version_reaches_a_template_only_through_its_next_approval(
        session: Session) -> None:
    bill, _ = resolve_specs(session, "utility-bill")
    footer = ensure_block(session, "legal-footer", BlockKind.BLOCK)
    pinned = bill.blocks["block/legal-footer"]
    source = pinned + "\n<!-- reviewed -->"
    add_block_version(session, footer, source, published=True)
    assert resolve_specs(session, "utility-bill")[0].blocks["block/legal-footer"] == pinned
    draft = add_template_version(session, get_template(session, "utility-bill"),
                                 _content_like(session, "utility-bill"))
    publish_reviewed(session, draft)
    assert resolve_specs(session, "utility-bill")[0].blocks["block/legal-footer"] == source
    set_kind_profile(session, TemplateKind.BILL, "pdf/ua-1")
    assert resolve_specs(session, "utility-bill")[0].pdf_variant == "pdf/ua-1"


def test_the_same_question_at_the_same_revision_gives_the_same_specs(session: Session) -> None:
    first = resolve_specs(session, "welcome-letter")
    assert resolve_specs(session, "welcome-letter") is first


def test_a_rolled_back_change_leaves_nothing_behind_in_the_cache(session: Session) -> None:
    before, _ = resolve_specs(session, "loyalty-offer")
    nested = session.begin_nested()
    bodies = {**before.bodies, "sms": before.bodies["sms"] + " (rolled back)"}
    add_template_version(session, get_template(session, "loyalty-offer"),
                         _content_like(session, "loyalty-offer", bodies=bodies), published=True)
    assert resolve_specs(session, "loyalty-offer")[0].bodies["sms"].endswith("(rolled back)")
    nested.rollback()
    assert resolve_specs(session, "loyalty-offer")[0].bodies == before.bodies
    # The next change gets a revision of its own, never the rolled-back one's.
    bodies = {**before.bodies, "sms": before.bodies["sms"] + " (kept)"}
    add_template_version(session, get_template(session, "loyalty-offer"),
                         _content_like(session, "loyalty-offer", bodies=bodies), published=True)
    assert resolve_specs(session, "loyalty-offer")[0].bodies["sms"].endswith("(kept)")
