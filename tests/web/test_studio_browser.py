"""The studio in headless Chromium: ana edits the stock promotion's headline and sees the
preview follow, submits it; ben approves and publishes; then the billing system's
documents carry the new headline. Authors cannot approve their own work; screenshots of
the editor, the brand page and a sub-brand's; a sub-brand behind its parent is rebased
from its page; axe finds nothing serious on any page; and nothing is fetched from outside
the server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from studio_support import BrandFamily, LiveStudio, make_brand_family, promotion_request

OLD_HEADLINE = "Make your own electricity"
NEW_HEADLINE = "Make your own solar power"
TIMEOUT_MS = 20_000


@pytest.fixture(scope="module")
def family(live_studio: LiveStudio) -> BrandFamily:
    return make_brand_family(live_studio.database)


@pytest.fixture
def contexts(browser: Any, live_studio: LiveStudio) -> Iterator[Any]:
    """New browser contexts (one per user), each refusing any request that leaves the
    server; what was refused is kept to check."""
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)
    made: list[Any] = []
    outside: list[str] = []

    def new_context() -> Any:
        context = browser.new_context(viewport={"width": 1440, "height": 1000},
                                      base_url=live_studio.url)
        context.set_default_timeout(TIMEOUT_MS)

        def guard(route: Any) -> None:
            url = route.request.url
            if url.startswith((live_studio.url + "/", "data:", "about:")):
                route.continue_()
            else:
                outside.append(url)
                route.abort()

        context.route("**/*", guard)
        made.append(context)
        return context

    yield new_context
    for context in made:
        context.close()
    assert outside == [], f"the studio fetched from outside: {outside}"


def click(locator: Any) -> None:
    """Scroll to it, then click: with Debian's Chromium, Playwright's own scrolling before
    a click sometimes leaves the click landing elsewhere."""
    locator.scroll_into_view_if_needed()
    locator.click()


def sign_in(context: Any, live_studio: LiveStudio, name: str, path: str = "/studio") -> Any:
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(path)
    page.get_by_label("API key").fill(live_studio.keys[name])
    click(page.get_by_role("button", name="Sign in"))
    page.wait_for_url(f"**{path.split('?')[0]}*")
    assert page.locator("#signed-in-as").inner_text() == name
    page.script_errors = errors  # type: ignore[attr-defined]  # checked by the tests
    return page


def open_editor(page: Any, key: str) -> None:
    page.goto(f"/studio/templates/{key}")
    page.wait_for_selector("body[data-editor-ready=true]")


def replace_in_part(page: Any, part: str, old: str, new: str) -> None:
    """Select ``old`` in the part's source and type ``new`` over it, key by key."""
    click(page.get_by_role("tab", name=part))
    found = page.evaluate("""(old) => {
        const cm = window.studioEditor.cm, doc = cm.getDoc();
        const at = doc.getValue().indexOf(old);
        if (at < 0) return false;
        doc.setSelection(doc.posFromIndex(at), doc.posFromIndex(at + old.length));
        cm.focus();
        return true;
    }""", old)
    assert found, f"{old!r} is not in the {part}"
    page.keyboard.type(new)


def preview_headline(page: Any) -> Any:
    return page.frame_locator("#preview-frame").locator("h1")


def status(page: Any) -> str:
    text: str = page.locator("#status").inner_text()
    return text


def test_edit_preview_review_publish_and_send(contexts: Any, live_studio: LiveStudio,
                                              screenshot_dir: Path) -> None:
    from playwright.sync_api import expect

    ana = sign_in(contexts(), live_studio, "ana", "/studio/templates/loyalty-offer")
    ana.wait_for_selector("body[data-editor-ready=true]")
    expect(preview_headline(ana)).to_have_text(OLD_HEADLINE)
    expect(ana.locator("#sms-meta")).to_contain_text("2 segments")
    # Jinja highlighted over the HTML it is written in.
    expect(ana.locator(".CodeMirror .cm-jinja.cm-keyword", has_text="trans").first).to_be_visible()
    expect(ana.locator(".CodeMirror .cm-tag", has_text="h1").first).to_be_visible()

    replace_in_part(ana, "Email body", "electricity", "solar power")
    expect(ana.locator("#save-state")).to_have_text("Unsaved changes.")
    expect(preview_headline(ana)).to_have_text(NEW_HEADLINE)  # the email preview follows
    expect(ana.locator("#email-subject")).to_contain_text("15% off solar panels")
    replace_in_part(ana, "HTML body", "electricity", "solar power")
    replace_in_part(ana, "PDF body", "electricity", "solar power")
    expect(preview_headline(ana)).to_have_text(NEW_HEADLINE)  # the web page's too
    expect(ana.locator("#sms-text")).to_contain_text("LOYAL-100234")  # SMS at the same time

    click(ana.get_by_role("button", name="Render PDF"))
    expect(ana.locator("#pdf-pages img").first).to_be_visible()
    expect(ana.locator("#pdf-pages img").first).to_have_attribute("alt", "PDF page 1 of 1")

    click(ana.get_by_role("button", name="Save as new draft"))
    expect(ana.locator("#save-state")).to_have_text("Saved as a new draft, v2.")
    assert status(ana) == "draft" and ana.locator("#author").inner_text() == "ana"
    assert ana.url.endswith("?version=2")
    ana.get_by_label("Comment").fill("Solar power reads better than electricity")
    click(ana.get_by_role("button", name="Submit for review"))
    expect(ana.locator("#status")).to_have_text("in review")
    expect(ana.locator("#history-list")).to_contain_text("submitted by ana")
    click(ana.get_by_role("tab", name="Email body"))
    ana.screenshot(path=str(screenshot_dir / "studio-editor.png"), full_page=True)

    ben = sign_in(contexts(), live_studio, "ben")
    open_editor(ben, "loyalty-offer")
    expect(ben.locator("#version-label")).to_have_text("v2")
    expect(preview_headline(ben)).to_have_text(NEW_HEADLINE)
    click(ben.get_by_role("button", name="Approve"))
    expect(ben.locator("#status")).to_have_text("approved")
    click(ben.get_by_role("button", name="Publish"))
    expect(ben.locator("#status")).to_have_text("published")
    expect(ben.locator("#history-list")).to_contain_text("published by ben")
    assert ana.script_errors == [] and ben.script_errors == []

    billing = {"Authorization": f"Bearer {live_studio.keys['billing']}",
               "Content-Type": "application/json", "Accept": "text/html"}
    for channel in ("email", "html"):
        reply = httpx.post(f"{live_studio.url}/v1/documents", headers=billing,
                           content=promotion_request(channel), timeout=30)
        assert reply.status_code == 201, reply.text
        assert NEW_HEADLINE in reply.text and OLD_HEADLINE not in reply.text, channel

    ben.goto("/studio")
    row = ben.locator("tr[data-template=loyalty-offer]")
    expect(row).to_contain_text("v2")
    expect(row.locator(".status")).to_have_text("published")
    ben.goto("/studio/templates/loyalty-offer/diff")
    expect(ben.locator("h1")).to_have_text("Changes in loyalty-offer: v1 → v2")
    expect(ben.locator(".d-add").filter(has_text=NEW_HEADLINE).first).to_be_visible()
    expect(ben.locator(".d-remove").filter(has_text=OLD_HEADLINE).first).to_be_visible()


def test_an_author_cannot_approve_their_own_version(contexts: Any,
                                                    live_studio: LiveStudio) -> None:
    from playwright.sync_api import expect

    ana = sign_in(contexts(), live_studio, "ana")
    open_editor(ana, "payment-reminder")
    replace_in_part(ana, "Subject", "Reminder: your", "Reminder - your")
    click(ana.get_by_role("button", name="Save as new draft"))
    expect(ana.locator("#status")).to_have_text("draft")
    click(ana.get_by_role("button", name="Submit for review"))
    expect(ana.locator("#status")).to_have_text("in review")
    click(ana.get_by_role("button", name="Approve"))
    alert = ana.get_by_role("alert")
    expect(alert).to_contain_text("You wrote this version, so you cannot approve it")
    expect(ana.locator("#status")).to_have_text("in review")
    assert ana.script_errors == []


def test_a_syntax_error_is_marked_at_its_line(contexts: Any, live_studio: LiveStudio) -> None:
    from playwright.sync_api import expect

    ana = sign_in(contexts(), live_studio, "ana")
    open_editor(ana, "welcome-letter")
    replace_in_part(ana, "Email body", "{% block content %}", "{% block content %}{% if %}")
    error = ana.locator("#errors .error-item").first
    expect(error).to_contain_text("Email body, line")
    line = int(error.locator(".where").inner_text().rsplit(" ", 1)[1])
    marked = ana.locator(".CodeMirror .cm-error-line")
    expect(marked.first).to_be_visible()
    expect(ana.locator(".CodeMirror-gutter-elt .ccm-marker").first).to_be_visible()
    source_line = ana.evaluate("(n) => window.studioEditor.cm.getLine(n - 1)", line)
    assert "{% if %}" in source_line
    expect(ana.get_by_role("tab", name="Email body")).to_contain_text("1")


def test_the_brand_page_shows_palette_contrast_and_logo(contexts: Any, live_studio: LiveStudio,
                                                        screenshot_dir: Path) -> None:
    from playwright.sync_api import expect

    page = sign_in(contexts(), live_studio, "ana", "/studio/brands/northwind")
    expect(page.locator("#swatches li")).to_have_count(8)
    expect(page.locator("#swatches")).to_contain_text("#0b5d4b")
    expect(page.locator("#contrast tbody tr")).to_have_count(7)
    expect(page.locator("#contrast")).to_contain_text("Pass")
    for logo in ("#logo-svg", "#logo-png"):
        width = page.eval_on_selector(logo, "img => img.complete ? img.naturalWidth : 0")
        assert width > 0, f"{logo} did not load"
    page.screenshot(path=str(screenshot_dir / "studio-brand.png"), full_page=True)


def test_a_sub_brand_page_shows_its_parent_its_own_tokens_and_rebases(
        contexts: Any, live_studio: LiveStudio, family: BrandFamily,
        screenshot_dir: Path) -> None:
    from playwright.sync_api import expect

    page = sign_in(contexts(), live_studio, "ana", f"/studio/brands/{family.solar}")
    expect(page.locator("#parent-brand")).to_contain_text("Northwind Group")
    expect(page.locator("#inherited-version")).to_have_text(f"{family.parent} v1")
    expect(page.locator("#own-tokens")).to_contain_text("palette.primary")
    expect(page.locator('#swatches li[data-origin="own"]')).to_have_count(1)
    expect(page.locator('#swatches li[data-origin="inherited"]')).to_have_count(7)
    expect(page.locator('#swatches li[data-swatch="primary"]')).to_contain_text("own")
    expect(page.locator("#fonts .origin-inherited").first).to_be_visible()
    expect(page.locator("#behind")).to_contain_text(
        f"{family.parent}'s latest published version is v2")
    for logo in ("#logo-svg", "#logo-png"):
        width = page.eval_on_selector(logo, "img => img.complete ? img.naturalWidth : 0")
        assert width > 0, f"{logo} did not load"
    page.screenshot(path=str(screenshot_dir / "studio-sub-brand.png"), full_page=True)

    click(page.locator("#parent-brand a"))
    page.wait_for_url(f"**/studio/brands/{family.parent}")
    expect(page.locator("#sub-brands li")).to_have_count(2)
    click(page.locator("#sub-brands a", has_text="Northwind Twin"))
    page.wait_for_url(f"**/studio/brands/{family.twin}")
    page.get_by_label("Publish the new version at once").check()
    click(page.get_by_role("button", name=f"Rebase on {family.parent} v2"))
    page.wait_for_url(f"**/studio/brands/{family.twin}?version=2")
    expect(page.locator("h1")).to_contain_text("v2")
    expect(page.locator("h1 .status")).to_have_text("published")
    expect(page.locator("#inherited-version")).to_have_text(f"{family.parent} v2")
    expect(page.locator("#behind")).to_have_count(0)
    assert page.script_errors == []

    page.goto("/studio/brands")
    expect(page.locator(f"tr[data-brand={family.solar}]")).to_contain_text(
        f"behind {family.parent} v2")
    expect(page.locator(f"tr[data-brand={family.twin}]")).not_to_contain_text("behind")
    expect(page.locator(f"tr[data-brand={family.twin}] td.parent")).to_have_text(family.parent)


STUDIO_PAGES = ["/studio", "/studio/templates/loyalty-offer",
                "/studio/templates/loyalty-offer/diff?from=1&to=2", "/studio/blocks",
                "/studio/blocks/letterhead", "/studio/brands", "/studio/brands/northwind"]


def serious_violations(page: Any) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [f"{v['id']} ({v['impact']}): {v['help']} — "
            f"{[n['target'] for n in v['nodes']][:5]}"
            for v in results.response["violations"] if v["impact"] in {"serious", "critical"}]


def test_axe_finds_no_serious_problems_on_any_page(contexts: Any, live_studio: LiveStudio,
                                                   family: BrandFamily) -> None:
    context = contexts()
    page = context.new_page()
    page.goto("/studio/sign-in")
    found = {"/studio/sign-in": serious_violations(page)}
    page.get_by_label("API key").fill("ccm_wrong")
    click(page.get_by_role("button", name="Sign in"))
    found["/studio/sign-in (refused)"] = serious_violations(page)
    page.get_by_label("API key").fill(live_studio.keys["ana"])
    click(page.get_by_role("button", name="Sign in"))
    page.wait_for_url("**/studio")
    # A sub-brand behind its parent (the notice and rebase form), and its parent.
    for path in [*STUDIO_PAGES, f"/studio/brands/{family.solar}",
                 f"/studio/brands/{family.parent}"]:
        page.goto(path)
        if "/templates/" in path and "diff" not in path:
            page.wait_for_selector("body[data-editor-ready=true]")
        found[path] = serious_violations(page)
    assert {path: v for path, v in found.items() if v} == {}
