"""Per-document time and peak memory of ccm's renders of the stock bill, against plain
WeasyPrint and plain Jinja2 on the same HTML, all measured in the same run.

    python bench/bench_render.py            # prints a Markdown table
    python bench/bench_render.py --quick    # fewer documents, for a smoke run

Each scenario runs in a fresh process, so its peak RSS is its own; times are the median
of many documents after one warm-up document.
"""

from __future__ import annotations

import argparse
import base64
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

SCENARIOS = {
    # name: (documents in a full run, baseline scenario it is compared with)
    "weasyprint-plain": (20, None),
    "ccm-pdf": (20, "weasyprint-plain"),
    "jinja-plain": (1000, None),
    "ccm-html": (1000, "jinja-plain"),
    "ccm-email": (1000, "jinja-plain"),
    "jinja-plain-sms": (5000, None),
    "ccm-sms": (5000, "jinja-plain-sms"),
    "ccm-validate": (5000, None),
}
LOCALE = "de_DE"


def _setup() -> dict[str, Any]:
    """The stock registry in a throwaway SQLite database; returns the specs and data."""
    from ccm.db import make_engine, make_session_factory, unit_of_work, upgrade
    from ccm.inputs import normalise_numbers
    from ccm.registry import load_registry
    from ccm.rendering.service import resolve_specs
    from ccm.stock import STOCK_DIR
    from ccm.stock.customers import SAMPLE_CUSTOMERS, bill_data

    folder = tempfile.mkdtemp()
    engine = make_engine(f"sqlite:///{folder}/bench.db")
    upgrade(engine)
    with unit_of_work(make_session_factory(engine)) as session:
        load_registry(session, STOCK_DIR)
        template, brand = resolve_specs(session, "utility-bill")
    return {"template": template, "brand": brand,
            "data": normalise_numbers(bill_data(SAMPLE_CUSTOMERS[2]))}


def _plain_inputs(env: dict[str, Any]) -> tuple[str, Any, dict[str, Any], str]:
    """The same document as plain tools would get it: the bill's HTML with the brand's
    print stylesheet in a <style> element and the logo as a data URL, and a plain
    (unsandboxed) Jinja2 environment over the same template sources."""
    import jinja2

    from ccm.brand.stylesheet import asset_url, brand_css
    from ccm.rendering.engine import _current_names, default_renderer
    from ccm.rendering.filters import FILTERS
    from ccm.rendering.spec import Channel

    template, brand, data = env["template"], env["brand"], env["data"]
    renderer = default_renderer()
    names = renderer._register(template)
    token = _current_names.set(names)
    context = renderer._context(template, brand, data, LOCALE, Channel.PDF)
    body = renderer._evaluate(names["body/pdf"], context)
    _current_names.reset(token)
    logo = brand.assets[brand.tokens.logo.svg]
    html = body.replace("</head>", f"<style>{brand_css(brand.tokens, 'print')}</style></head>")
    html = html.replace(asset_url(logo.sha256), "data:image/svg+xml;base64,"
                        + base64.b64encode(logo.content).decode())
    plain = jinja2.Environment(
        loader=jinja2.DictLoader({**template.blocks, "bill.html": template.bodies["html"],
                                  "bill.txt": template.bodies["sms"]}),
        extensions=["jinja2.ext.i18n"], autoescape=jinja2.select_autoescape(["html"]),
        trim_blocks=True, lstrip_blocks=True,
    )
    plain.filters.update(FILTERS)
    catalog = template.translations.get("de", {})
    plain.install_gettext_callables(  # type: ignore[attr-defined]
        lambda s: catalog.get(s) or s, lambda s, p, n: s if n == 1 else p, newstyle=True)
    plain_context = {k: v for k, v in context.items() if k not in ("gettext", "ngettext", "_")}
    return html, plain, plain_context, body


def _job(name: str, env: dict[str, Any]) -> Callable[[], object]:
    from weasyprint import HTML

    from ccm.inputs import validate_data
    from ccm.rendering.engine import default_renderer

    template, brand, data = env["template"], env["brand"], env["data"]
    renderer = default_renderer()
    if name.startswith("ccm-") and name != "ccm-validate":
        channel = name.removeprefix("ccm-")
        return lambda: renderer.render(template, brand, data, LOCALE, channel)
    if name == "ccm-validate":
        return lambda: validate_data(data, template.data_schema)
    html, plain, context, _ = _plain_inputs(env)
    if name == "weasyprint-plain":
        return lambda: HTML(string=html).write_pdf()
    if name == "jinja-plain":
        compiled = plain.get_template("bill.html")
        return lambda: compiled.render(context)
    compiled_sms = plain.get_template("bill.txt")
    return lambda: compiled_sms.render(context)


def run_scenario(name: str, documents: int) -> dict[str, Any]:
    env = _setup()
    job = _job(name, env)
    job()  # warm-up: first-use costs (font loading, template compile) are not per document
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    times = []
    for _ in range(documents):
        start = time.perf_counter()
        job()
        times.append(time.perf_counter() - start)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"name": name, "documents": documents, "median_s": statistics.median(times),
            "p90_s": sorted(times)[int(len(times) * 0.9)], "peak_rss_mb": peak / 1024,
            "growth_mb": (peak - rss_before) / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a tenth of the documents")
    parser.add_argument("--scenario", help=argparse.SUPPRESS)
    parser.add_argument("--documents", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--json", type=Path, help="also write the results as JSON")
    args = parser.parse_args()
    if args.scenario:
        print(json.dumps(run_scenario(args.scenario, args.documents)))
        return
    results: dict[str, dict[str, Any]] = {}
    for name, (documents, _) in SCENARIOS.items():
        count = max(5, documents // 10) if args.quick else documents
        out = subprocess.run(
            [sys.executable, __file__, "--scenario", name, "--documents", str(count)],
            check=True, capture_output=True, text=True,
        ).stdout
        results[name] = json.loads(out.strip().splitlines()[-1])
        print(f"measured {name}", file=sys.stderr)
    print("| scenario | documents | median per document | p90 | peak RSS | time ratio "
          "vs baseline (same run) |")
    print("|---|---:|---:|---:|---:|---|")
    for name, (_, baseline) in SCENARIOS.items():
        row = results[name]
        ratio = ""
        if baseline:
            ratio = f"{row['median_s'] / results[baseline]['median_s']:.2f} × {baseline}"
        print(f"| {name} | {row['documents']} | {_ms(row['median_s'])} | {_ms(row['p90_s'])} "
              f"| {row['peak_rss_mb']:.0f} MB | {ratio} |")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.3f} ms" if seconds < 0.01 else f"{seconds * 1000:.1f} ms"


if __name__ == "__main__":
    main()
