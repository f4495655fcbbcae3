"""Per-document time and peak memory of ccm's renders of the stock bill, against plain
WeasyPrint and plain Jinja2 on the same HTML, all measured in the same run.

    python bench/bench_render.py            # prints a Markdown table
    python bench/bench_render.py --quick    # fewer documents, for a smoke run
    python bench/bench_render.py --stock DIR   # a copy of the stock folder (stable inputs)

Times: each family (PDF, HTML/email, SMS) runs in one process with its scenarios
interleaved document by document, so machine-speed drift hits baseline and ccm alike,
each PDF starting from a collected heap; medians after a few warm-up rounds.
Memory: each scenario alone in a fresh process, peak RSS.
PDFs: every document is a different customer's bill (consumption, amounts, name and
address vary, as in a billing run), the same customers in the same order for every
scenario, so that what ccm remembers across documents is measured as a batch would use it.
"""

from __future__ import annotations

import argparse
import base64
import dataclasses
import gc
import itertools
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

#: Families of scenarios timed together: each document of each scenario in turn, so that
#: drift in machine speed (this runs on shared virtual machines) hits all of them alike.
#: The first scenario of a family is the baseline the others are compared with.
FAMILIES: dict[str, tuple[int, list[str]]] = {
    "pdf": (40, ["weasyprint-plain", "ccm-pdf", "weasyprint-same-profile"]),
    "html": (1000, ["jinja-plain", "ccm-html", "ccm-email"]),
    "sms": (5000, ["jinja-plain-sms", "ccm-sms", "ccm-validate"]),
}
LOCALE = "de_DE"


#: The registry folder loaded (``--stock``): the stock folder unless told otherwise.
_STOCK: list[Path] = []


_FIRST = ("Jürgen", "Anna", "Mehmet", "Sabine", "Lukas", "Ingrid", "Tobias", "Elif", "Karl")
_LAST = ("Weiß", "Schröder", "Yılmaz", "Becker", "Hoffmann", "Krüger", "Neumann", "Wolf")


def _customer(number: int) -> Any:
    """The ``number``-th customer of a billing run: the stock German customer with other
    consumption, name, street and customer number, so every amount on the bill differs."""
    from ccm.stock.customers import SAMPLE_CUSTOMERS

    base = SAMPLE_CUSTOMERS[2]
    first, last = _FIRST[number % len(_FIRST)], _LAST[number // len(_FIRST) % len(_LAST)]
    return dataclasses.replace(
        base, customer_id=f"C-{200000 + number}", name=f"{first} {last}", first_name=first,
        address=(f"Mühlenstraße {number % 180 + 1}", base.address[1]),
        annual_kwh=1200 + number * 7919 % 5200,
        annual_gas_kwh=0 if number % 5 == 0 else 4000 + number * 104729 % 15000)


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
        load_registry(session, _STOCK[0] if _STOCK else STOCK_DIR)
        template, brand = resolve_specs(session, "utility-bill")
    return {"template": template, "brand": brand,
            "data": normalise_numbers(bill_data(SAMPLE_CUSTOMERS[2])),
            "bill_data": lambda number: normalise_numbers(bill_data(_customer(number)))}


def _plain_inputs(env: dict[str, Any], data: dict[str, Any] | None = None
                  ) -> tuple[str, Any, dict[str, Any], str]:
    """The same document as plain tools would get it: the bill's HTML with the brand's
    print stylesheet in a <style> element and the logo as a data URL, and a plain
    (unsandboxed) Jinja2 environment over the same template sources."""
    import jinja2

    from ccm.brand.stylesheet import asset_url, brand_css
    from ccm.rendering.engine import _current_names, default_renderer
    from ccm.rendering.filters import FILTERS
    from ccm.rendering.spec import Channel

    template, brand = env["template"], env["brand"]
    data = env["data"] if data is None else data
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


def _job(name: str, env: dict[str, Any], documents: int = 0) -> Callable[[], object]:
    """One document of scenario ``name`` per call; a PDF scenario's calls go through the
    bills of ``documents`` different customers in turn."""
    from weasyprint import HTML

    from ccm.inputs import validate_data
    from ccm.rendering.engine import default_renderer

    template, brand, data = env["template"], env["brand"], env["data"]
    renderer = default_renderer()
    if name in ("ccm-pdf", "weasyprint-plain", "weasyprint-same-profile"):
        bills = [env["bill_data"](number) for number in range(documents)]
        if name == "ccm-pdf":
            datas = itertools.cycle(bills)
            return lambda: renderer.render(template, brand, next(datas), LOCALE, "pdf")
        pages = itertools.cycle([_plain_inputs(env, bill)[0] for bill in bills])
        if name == "weasyprint-plain":
            return lambda: HTML(string=next(pages)).write_pdf()
        # The same work ccm does for the bill: its PDF profile, tagged for accessibility.
        variant = template.pdf_variant
        return lambda: HTML(string=next(pages)).write_pdf(pdf_variant=variant, pdf_tags=True)
    if name.startswith("ccm-") and name != "ccm-validate":
        channel = name.removeprefix("ccm-")
        return lambda: renderer.render(template, brand, data, LOCALE, channel)
    if name == "ccm-validate":
        return lambda: validate_data(data, template.data_schema)
    _, plain, context, _ = _plain_inputs(env)
    if name == "jinja-plain":
        compiled = plain.get_template("bill.html")
        return lambda: compiled.render(context)
    compiled_sms = plain.get_template("bill.txt")
    return lambda: compiled_sms.render(context)


def time_family(names: list[str], documents: int, *, collect: bool = False
                ) -> dict[str, dict[str, float]]:
    """Median and p90 seconds per document, the scenarios interleaved document by document."""
    env = _setup()
    warm_up = max(3, documents // 10)
    jobs = {name: _job(name, env, warm_up + documents) for name in names}
    # Warm-up: first-use costs (fonts, compiling, the interpreter specialising hot code)
    # are not per document; a few rounds, since the first renders keep getting faster.
    # (For PDFs these are the run's first customers; the timed ones are all new.)
    for _ in range(warm_up):
        for job in jobs.values():
            job()
    # As a long-running service does after start-up: what exists now lives for good, so
    # garbage collections need not walk it again.
    gc.collect()
    gc.freeze()
    times: dict[str, list[float]] = {name: [] for name in names}
    for _ in range(documents):
        for name, job in jobs.items():
            # A PDF starts from a collected heap, so a garbage collection left over from
            # the previous scenario is never charged to this one (small documents rarely
            # trigger one, and collecting before each would only chill the caches).
            if collect:
                gc.collect()
            start = time.perf_counter()
            job()
            times[name].append(time.perf_counter() - start)
    return {name: {"median_s": statistics.median(values),
                   "p90_s": sorted(values)[int(len(values) * 0.9)]}
            for name, values in times.items()}


def peak_memory(name: str, documents: int) -> dict[str, float]:
    """Peak RSS of a process that renders only this scenario's documents."""
    env = _setup()
    job = _job(name, env, documents + 1)
    job()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for _ in range(documents):
        job()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"peak_rss_mb": peak / 1024, "growth_mb": (peak - before) / 1024}


def _subprocess(*args: str) -> Any:
    if _STOCK:
        args = (*args, "--stock", str(_STOCK[0]))
    out = subprocess.run([sys.executable, __file__, *args], check=True, capture_output=True,
                         text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a tenth of the documents")
    parser.add_argument("--time-family", help=argparse.SUPPRESS)
    parser.add_argument("--memory", help=argparse.SUPPRESS)
    parser.add_argument("--documents", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--json", type=Path, help="also write the results as JSON")
    parser.add_argument("--stock", type=Path,
                        help="registry folder to load instead of the stock one (a copy "
                             "keeps the inputs fixed while the stock folder is edited)")
    args = parser.parse_args()
    if args.stock:
        _STOCK.append(args.stock)
    if args.time_family:
        print(json.dumps(time_family(FAMILIES[args.time_family][1], args.documents,
                                     collect=args.time_family == "pdf")))
        return
    if args.memory:
        print(json.dumps(peak_memory(args.memory, args.documents)))
        return
    results: dict[str, dict[str, Any]] = {}
    for family, (documents, names) in FAMILIES.items():
        count = max(5, documents // 10) if args.quick else documents
        timed = _subprocess("--time-family", family, "--documents", str(count))
        for name in names:
            memory = _subprocess("--memory", name, "--documents", str(max(5, count // 4)))
            results[name] = {**timed[name], **memory, "documents": count,
                             "baseline": names[0] if name != names[0] else None}
        print(f"measured {family}", file=sys.stderr)
    print("| scenario | documents | median per document | p90 | peak RSS | time ratio "
          "vs baseline (same run) |")
    print("|---|---:|---:|---:|---:|---|")
    for name, row in results.items():
        ratio = ""
        if row["baseline"]:
            ratio = f"{row['median_s'] / results[row['baseline']]['median_s']:.2f} × " \
                    f"{row['baseline']}"
        print(f"| {name} | {row['documents']} | {_ms(row['median_s'])} | {_ms(row['p90_s'])} "
              f"| {row['peak_rss_mb']:.0f} MB | {ratio} |")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.3f} ms" if seconds < 0.01 else f"{seconds * 1000:.1f} ms"


if __name__ == "__main__":
    main()
