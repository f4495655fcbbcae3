"""The sandbox's fast paths (trusted engine functions, Jinja's loop helpers, fused escaping)
are exactly as strict as the generic checks they skip: hostile templates still fail, budgets
still count, and output is the same."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from jinja2.sandbox import unsafe
from markupsafe import Markup

from ccm.errors import RenderBudgetExceededError, SandboxViolationError, TemplateDataError
from ccm.rendering.engine import Renderer
from ccm.rendering.sandbox import BudgetedSandbox, _budgeted_range
from ccm.rendering.spec import BrandSpec, Channel, TemplateSpec

CATALOG = {"de": {"Hello": "Hallo", "Hi %(name)s": "Servus %(name)s", "Pay": "Zahlen"}}


def spec(body: str, channel: str = "html", **extra: Any) -> TemplateSpec:
    return TemplateSpec(key="probe", version=1, kind="notice", journey_key="j", stage_key="s",
                        default_locale="en_GB", bodies={channel: body},
                        data_schema={"type": "object"}, **extra)


def render(renderer: Renderer, brand: BrandSpec, body: str, data: dict[str, Any] | None = None,
           channel: str = "html", locale: str = "en_GB", validate: bool = True) -> str:
    return renderer.render(spec(body, channel, translations=CATALOG), brand, data or {},
                           locale, channel, validate=validate).content.decode()


def body_of(page: str) -> str:
    """The template's one paragraph, out of the page the web channel makes of it."""
    start = page.index("<p")
    return page[start:page.index("</p>", start) + 4]


@pytest.mark.parametrize(
    "body",
    [
        "{{ ''.__class__ }}",
        "{{ cycler.__init__.__globals__ }}",
        "{{ self.__init__ }}",
        "{{ self.__init__.__globals__ }}",
        # the functions the engine trusts, and their insides
        "{{ gettext.__globals__ }}",
        "{{ _.__closure__ }}",
        "{{ ngettext.__code__ }}",
        "{{ gettext.__call__ }}",
        "{{ range.__globals__ }}",
        "{{ range.__globals__['os'] }}",
        "{{ _('x').__class__ }}",
        "{{ _('x').__class__.__mro__ }}",
        # loop tricks
        "{% for x in [1] %}{{ loop.__class__ }}{% endfor %}",
        "{% for x in [1] %}{{ loop._iterator }}{% endfor %}",
        "{% for x in [1] %}{{ loop._undefined }}{% endfor %}",
        "{% for x in [1] %}{{ loop.__init__.__globals__ }}{% endfor %}",
        "{% for x in [1] %}{{ loop.changed.__func__ }}{% endfor %}",
        "{% for x in [1] %}{{ loop.changed.__self__ }}{% endfor %}",
        "{% for x in [1] %}{{ loop.changed.__globals__ }}{% endfor %}",
        "{% for x in [1] %}{{ loop.cycle.__func__.__globals__ }}{% endfor %}",
        "{% for x in [1] %}{{ loop.length.__class__ }}{% endfor %}",
        "{% for x in [1] %}{{ loop.cycle(''.__class__) }}{% endfor %}",
        # calling unsafe methods of data values
        "{{ items.append(1) }}",
        "{{ items.pop() }}",
        "{{ record.update(a=1) }}",
        "{{ record.clear() }}",
        "{{ record.setdefault('b', 2) }}",
        "{{ items.__class__.__subclasses__() }}",
        "{{ name.format.__globals__ }}",
        "{{ name.__class__.__base__.__subclasses__() }}",
        "{{ marked() }}",
        "{{ dangerous() }}",
        "{{ (marked,)[0]() }}",
    ],
)
def test_hostile_templates_still_fail(renderer: Renderer, brand: BrandSpec, body: str) -> None:
    data = {"items": [1, 2], "record": {"a": 1}, "name": "x",
            "marked": unsafe(lambda: "ran"), "dangerous": _AltersData()}
    with pytest.raises((SandboxViolationError, TemplateDataError)) as caught:
        render(renderer, brand, body, data)
    assert "ran" not in str(caught.value)
    assert data == {"items": [1, 2], "record": {"a": 1}, "name": "x",
                    "marked": data["marked"], "dangerous": data["dangerous"]}


class _AltersData:
    alters_data = True

    def __call__(self) -> str:
        raise AssertionError("called")


def test_a_data_function_that_looks_like_an_engine_one_is_not_trusted(
        renderer: Renderer, brand: BrandSpec) -> None:
    """Trust is by identity: data's own function, even one named like the engine's, takes
    the generic path and its checks."""
    marked = unsafe(lambda s: s)
    with pytest.raises(SandboxViolationError):
        render(renderer, brand, "{{ f('Hello') }}{{ _('Hello') }}", {"f": marked},
               locale="de_DE")
    # data cannot put its own function in the engine's place either
    page = render(renderer, brand, "<p>{{ gettext('Hello') }}</p>", {"gettext": marked},
                  locale="de_DE", validate=False)
    assert body_of(page) == "<p>Hallo</p>"
    assert marked not in renderer.env._engine_functions
    assert all(type(f).__name__ == "function" and f.__module__.startswith("ccm.rendering")
               for f in renderer.env._engine_functions)


@pytest.mark.parametrize(
    "thing",
    [len, str.upper, "x".upper, Markup, type, object(), unsafe(lambda: 1), _AltersData(),
     Renderer().render],
)
def test_only_plain_safe_functions_can_be_trusted(thing: Any) -> None:
    with pytest.raises(TypeError):
        BudgetedSandbox().trust(thing)


def test_a_plain_function_can_be_trusted_and_distrusted() -> None:
    def function() -> str:
        return "x"

    env = BudgetedSandbox()
    env.trust(function)
    assert env._engine_functions[function] is False
    env.distrust(function)
    assert function not in env._engine_functions


def test_a_function_with_its_own_call_cannot_be_trusted() -> None:
    def function() -> None:
        pass

    function.__call__ = lambda: None  # type: ignore[attr-defined]
    with pytest.raises(TypeError):
        BudgetedSandbox().trust(function)


def test_distrusted_functions_still_work_through_the_generic_path(
        renderer: Renderer, brand: BrandSpec) -> None:
    body = "<p>{{ _('Hello') }} {{ range(3)|list }}</p>"
    trusted = render(renderer, brand, body, locale="de_DE")
    renderer.env.distrust(*list(renderer.env._engine_functions))
    assert renderer.env._engine_functions == {}
    assert render(renderer, brand, body, locale="de_DE") == trusted
    assert "<p>Hallo [0, 1, 2]</p>" in trusted
    renderer.env.trust(_budgeted_range)


@pytest.mark.parametrize(
    "body",
    [
        # the results of trusted calls are charged: 100 x 1M characters of translations
        "{% set s = 'x' * 999999 %}{% for i in range(100) %}{{ _(s)|length }}{% endfor %}",
        "{% set s = 'x' * 999999 %}{% for i in range(100) %}"
        "{{ ngettext(s, s, i)|length }}{% endfor %}",
        # loop.cycle hands back what it is given, charged too
        "{% set s = 'x' * 999999 %}{% for i in range(100) %}{{ loop.cycle(s, s)|length }}"
        "{% endfor %}",
        # and every call and loop attribute spends a tick (time budget)
        "{% for i in range(10000) %}{% for j in range(10000) %}{{ loop.changed(j) }}"
        "{% endfor %}{% endfor %}",
        "{% for i in range(10000) %}{% for j in range(10000) %}{{ loop.index }}"
        "{% endfor %}{% endfor %}",
    ],
)
def test_budgets_hold_on_the_fast_paths(renderer: Renderer, brand: BrandSpec,
                                        body: str) -> None:
    with pytest.raises(RenderBudgetExceededError):
        render(renderer, brand, body)


def test_translations_see_block_and_loop_variables(renderer: Renderer,
                                                    brand: BrandSpec) -> None:
    body = ("<p>{% set name = 'Ana' %}{% trans %}Hi {{ name }}{% endtrans %}|"
            "{% for name in ['Bo', 'Cy'] %}{% trans %}Hi {{ name }}{% endtrans %};"
            "{% endfor %}|{% trans %}Hello{% endtrans %}|{{ _('Pay') }}|{{ _('Pay') }}</p>")
    assert body_of(render(renderer, brand, body, locale="de_DE")) == \
        "<p>Servus Ana|Servus Bo;Servus Cy;|Hallo|Zahlen|Zahlen</p>"
    assert body_of(render(renderer, brand, body, locale="en_GB")) == \
        "<p>Hi Ana|Hi Bo;Hi Cy;|Hello|Pay|Pay</p>"


def test_loop_helpers_behave_as_in_jinja(renderer: Renderer, brand: BrandSpec) -> None:
    body = ("<p>{% for x in items %}{% if loop.changed(x.k) %}[{{ x.k }}]{% endif %}"
            "{{ loop.cycle('a', 'b') }}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}"
            "{{ loop.revindex0 }}{{ loop.first }}{{ loop.last }}{{ loop.length }}"
            "{{ loop.depth }}{{ loop.depth0 }}{{ loop.previtem is defined }};{% endfor %}</p>")
    items = [{"k": 1}, {"k": 1}, {"k": 2}]
    assert body_of(render(renderer, brand, body, {"items": items})) == (
        "<p>[1]a1032TrueFalse310False;b2121FalseFalse310True;"
        "[2]a3210FalseTrue310True;</p>"
    )
    with pytest.raises(TemplateDataError, match="no attribute 'nothing'"):
        render(renderer, brand, "{% for x in [1] %}{{ loop.nothing }}{% endfor %}")


class _Html:
    def __html__(self) -> str:
        return "<b>kept</b>"


@pytest.mark.parametrize(
    ("value", "printed"),
    [
        ("<script>&\"'", "&lt;script&gt;&amp;&#34;&#39;"),
        (Markup("<i>ok</i>"), "<i>ok</i>"),
        (_Html(), "<b>kept</b>"),
        (Decimal("1.50"), "1.50"),
        (7, "7"),
        (None, "None"),
        (["<a>"], "[&#39;&lt;a&gt;&#39;]"),
    ],
)
def test_printed_values_are_escaped_as_markupsafe_does(renderer: Renderer, brand: BrandSpec,
                                                       value: Any, printed: str) -> None:
    assert body_of(render(renderer, brand, "<p>{{ v }}</p>", {"v": value})) == \
        f"<p>{printed}</p>"
    in_attribute = render(renderer, brand, '<p title="{{ v }}">x</p>', {"v": value})
    assert f'<p title="{printed}">x</p>' in in_attribute
    # where escaping is off (text channels): as it was
    assert render(renderer, brand, "{{ v }}", {"v": value}, "sms") == str(value)


def test_only_escaping_output_is_fused(renderer: Renderer) -> None:
    env = renderer.env
    assert "environment.ccm_print_escaped(" in env.compile("{{ v }}", "a.html", raw=True)
    assert "str(environment.finalize(" in env.compile("{{ v }}", "a.txt", raw=True)
    off = env.compile("{% autoescape false %}{{ v }}{% endautoescape %}", "a.html", raw=True)
    assert "ccm_print_escaped" not in off and "str(environment.finalize(" in off
    volatile = env.compile("{% autoescape flag %}{{ v }}{% endautoescape %}", "a.html",
                           raw=True)
    assert "ccm_print_escaped" not in volatile
    assert "(escape if context.eval_ctx.autoescape else str)(environment.finalize(" in volatile


def test_printed_values_are_charged(renderer: Renderer, brand: BrandSpec) -> None:
    body = "{% set s = 'x' * 999999 %}{% for i in range(100) %}{{ s }}{% endfor %}"
    with pytest.raises(RenderBudgetExceededError):
        renderer.render(spec(body), brand, {}, None, Channel.HTML)


@pytest.mark.parametrize(
    "body",
    [
        "{{ _('%(a)s' * 3000, a='x' * 999999)|length }}",
        "{{ gettext('%(a)999999999s', a=1)|length }}",
        "{{ ngettext('%(a)s' * 3000, 'p', 1, a='x' * 999999)|length }}",
        "{{ ngettext('s', '%(num)999999999d', 2)|length }}",
    ],
)
def test_translations_too_big_to_format_are_refused_before_they_are_built(
        renderer: Renderer, brand: BrandSpec, body: str) -> None:
    # Refused by the format check (before formatting), not by charging the result after.
    with pytest.raises(RenderBudgetExceededError, match="a % format would make"):
        render(renderer, brand, body)
    with pytest.raises(RenderBudgetExceededError, match="a % format would make"):
        render(renderer, brand, body, locale="de_DE")
