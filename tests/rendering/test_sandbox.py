"""Templates are semi-trusted: the sandbox keeps them from Python internals, files, the
network, and from burning unbounded time, memory or output."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
from support import pdf_text

from ccm.errors import (
    RenderBudgetExceededError,
    SandboxViolationError,
    TemplateDataError,
    TemplateSyntaxError,
)
from ccm.rendering.engine import Renderer
from ccm.rendering.spec import BrandSpec, TemplateSpec

SCHEMA = {"type": "object"}


def spec(body: str, channel: str = "html", **extra: Any) -> TemplateSpec:
    return TemplateSpec(key="probe", version=1, kind="notice", journey_key="j", stage_key="s",
                        default_locale="en_GB", bodies={channel: body}, data_schema=SCHEMA,
                        **extra)


@pytest.mark.parametrize(
    "body",
    [
        "{{ ''.__class__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ cycler.__init__.__globals__ }}",
        "{{ joiner.__init__.__globals__.os }}",
        "{{ self.__init__.__globals__ }}",
        "{{ range.__globals__['os'].popen('id').read() }}",
        "{{ gettext.__closure__ }}",
        "{{ namespace.__init__ }}",
        "{{ {}.update(a=1) }}",
        "{{ [].append(1) }}",
    ],
)
def test_python_internals_are_out_of_reach(renderer: Renderer, brand: BrandSpec,
                                           body: str) -> None:
    with pytest.raises(SandboxViolationError):
        renderer.render(spec(body), brand, {}, None, "html")


@pytest.mark.parametrize(
    "body",
    [
        "{{ 'x' * 10**9 }}",
        "{{ 10 ** (10**7) }}",
        "{{ 2 ** 100000 }}",
        "{{ range(10**9)|list }}",
        "{% for i in range(10000) %}{% for j in range(10000) %}{% endfor %}{% endfor %}",
        "{% for i in range(10000) %}{{ 'x' * 1000 }}{% endfor %}",
        "{{ 'x'|center(10**9) }}",
        "{{ 'x'.ljust(10**9) }}",
        "{{ '{:>999999999}'.format(1) }}",
        "{{ '%999999999d' % 1 }}",
        "{% set ns = namespace(s='xx') %}{% for i in range(64) %}"
        "{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
        "{{ ('ab' * 400000)|replace('a', 'aaaaaaaaaa') }}",
        "{{ (['x' * 1000] * 1001)|join }}",
        "{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}",
        # formats: field count x argument size, widths and precisions
        "{{ ('{0}' * 3000).format('x' * 999999) }}",
        "{{ ('%(a)s' * 3000) % {'a': 'x' * 999999} }}",
        "{{ ('%(a)2999999999s' % {'a': 'x'})|length }}",
        "{{ '{:{w}}'.format('x', w=999999999) }}",
        "{{ '{:1.999999999f}'.format(1.5) }}",
        "{{ '%.999999999f' % 1.5 }}",
        # lists turned into text, and many bounded values that add up
        "{{ (['x' * 999999] * 3000)|string|length }}",
        "{{ (['x' * 999999] * 3000)|tojson|length }}",
        "{{ (['x' * 999999] * 3000)|map('upper')|join|length }}",
        "{{ (['x' * 999999] * 2000)|map('upper')|list|length }}",
        "{{ ('a' * 3000).translate('a'.maketrans({'a': 'y' * 999999}))|length }}",
        "{{ ('x\t' * 400000).expandtabs(1000)|length }}",
        # captured output: set blocks, macros, filter blocks
        "{% set s = 'x' * 999999 %}{% set b %}{% for i in range(3000) %}{{ s }}{% endfor %}"
        "{% endset %}{{ b|length }}",
        "{% set s = 'x' * 999999 %}{% macro m() %}{% for i in range(3000) %}{{ s }}"
        "{% endfor %}{% endmacro %}{{ m()|length }}",
        "{% set s = 'x' * 999999 %}{% filter upper %}{% for i in range(3000) %}{{ s }}"
        "{% endfor %}{% endfilter %}",
        # filters slower than linear, and list sums
        "{{ ('x' * 999999)|wordwrap(1, wrapstring='y' * 3000)|length }}",
        "{{ ('<>' * 499999)|striptags|length }}",
        "{{ ('x' * 999999)|urlize|length }}",
        "{{ ([[0] * 999999] * 1000)|sum(start=[])|length }}",
    ],
)
def test_budgets_stop_runaway_templates_and_the_process_stays_healthy(
    renderer: Renderer, brand: BrandSpec, body: str
) -> None:
    with pytest.raises(RenderBudgetExceededError):
        renderer.render(spec(body), brand, {}, None, "html")
    healthy = renderer.render(spec("<p>{{ 1 + 1 }}</p>"), brand, {}, None, "html")
    assert b"<p>2</p>" in healthy.content


@pytest.mark.parametrize("body", ["{{ lipsum() }}", "{{ [1, 2]|random }}"])
def test_nondeterministic_helpers_are_not_available(renderer: Renderer, brand: BrandSpec,
                                                    body: str) -> None:
    with pytest.raises((TemplateDataError, TemplateSyntaxError)):
        renderer.render(spec(body), brand, {}, None, "html")


def test_str_join_of_a_generator_keeps_its_items(renderer: Renderer, brand: BrandSpec) -> None:
    body = "[{{ ', '.join(items|map(attribute='name')) }}]"
    document = renderer.render(spec(body, "sms"), brand,
                               {"items": [{"name": "a"}, {"name": "b"}]}, None, "sms")
    assert document.content == b"[a, b]"


def test_budget_counts_loops_over_customer_data(renderer: Renderer, brand: BrandSpec) -> None:
    body = "{% for a in rows %}{% for b in rows %}{% for c in rows %}{% endfor %}{% endfor %}" \
           "{% endfor %}"
    with pytest.raises(RenderBudgetExceededError, match="budget"):
        renderer.render(spec(body), brand, {"rows": list(range(2000))}, None, "html")


def test_undefined_variables_and_syntax_errors_are_named(renderer: Renderer,
                                                        brand: BrandSpec) -> None:
    with pytest.raises(TemplateDataError, match="'missing' is undefined"):
        renderer.render(spec("{{ missing }}"), brand, {}, None, "html")
    with pytest.raises(TemplateSyntaxError, match="line 2") as caught:
        renderer.render(spec("<p>\n{% if %}</p>"), brand, {}, None, "html")
    assert caught.value.line == 2
    with pytest.raises(TemplateSyntaxError, match="block/nowhere"):
        renderer.render(spec("{% include 'block/nowhere' %}"), brand, {}, None, "html")


def test_html_is_escaped(renderer: Renderer, brand: BrandSpec) -> None:
    document = renderer.render(spec("<p>{{ name }}</p>"), brand,
                               {"name": "<script>alert(1)</script>"}, None, "html")
    assert b"<script>" not in document.content
    assert b"&lt;script&gt;" in document.content


class _Recorder(http.server.BaseHTTPRequestHandler):
    hits: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        _Recorder.hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def http_server() -> Iterator[str]:
    _Recorder.hits = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("channel", ["pdf", "html", "email"])
def test_outside_urls_are_never_fetched_and_are_reported(
    renderer: Renderer, brand: BrandSpec, http_server: str, tmp_path: Path, channel: str
) -> None:
    secret = tmp_path / "secret.css"
    secret.write_text("body::after { content: 'SECRET-FILE-CONTENT' }")
    body = (
        "<html><head><title>t</title>"
        f'<link rel="stylesheet" href="file://{secret}"></head><body>'
        '<img src="file:///etc/passwd" alt="a">'
        f'<img src="{{{{ picture }}}}" alt="b">'
        f'<div style="background: url({http_server}/style.png)">x</div>'
        '<p>SAFE-TEXT</p></body></html>'
    )
    document = renderer.render(spec(body, channel), brand,
                               {"picture": f"{http_server}/tracker.png"}, None, channel)
    assert _Recorder.hits == []
    warnings = " ".join(document.warnings)
    assert "file:///etc/passwd" in warnings
    assert f"{http_server}/tracker.png" in warnings
    if channel == "pdf":
        text = pdf_text(document.content)
        assert "SAFE-TEXT" in text and "SECRET-FILE-CONTENT" not in text
        assert str(secret) in warnings
    else:
        assert b"SAFE-TEXT" in document.content
        assert http_server.encode() not in document.content
        assert b"/etc/passwd" not in document.content
