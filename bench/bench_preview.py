"""The studio's live preview (`preview_content`, what `POST /v1/templates/{key}/preview`
runs on every pause in typing) beside a baseline measured in the same run: the renderer
called directly for the same channels of the same stored version.

    python bench/bench_preview.py            # prints a Markdown table
    python bench/bench_preview.py --quick    # fewer rounds, for a smoke run

Scenarios, interleaved round by round so they meet the same machine:

- ``render-3``: the renderer on html, email and sms of the stock loyalty offer's published
  version with its sample data (its compiled templates cached, as for sends);
- ``preview-3-same``: the preview of that version's content, unchanged (what a preview
  costs on top of rendering: the spec built from content, the lint, the reply's shape);
- ``preview-3-typed``: the preview of content that changed since the last round (one
  more character in the email body: every keystroke is new source to compile);
- ``render-pdf`` and ``preview-pdf-thumbnails``: the PDF alone, and the PDF with its
  pages as PNG thumbnails (the editor's "Render PDF").

The script makes a throwaway SQLite database, migrates and loads the stock registry
before anything is timed.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy.orm import Session

from ccm.db import make_engine, upgrade
from ccm.documents.preview import preview_content
from ccm.registry import load_registry
from ccm.rendering.engine import default_renderer
from ccm.rendering.service import resolve_specs
from ccm.rendering.spec import Channel
from ccm.stock import STOCK_DIR
from ccm.templates.service import TemplateContent, get_template, get_template_version

TEMPLATE = "loyalty-offer"
CHANNELS = ("html", "email", "sms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds")
    args = parser.parse_args()
    rounds, pdf_rounds = (30, 3) if args.quick else (300, 15)

    folder = Path(tempfile.mkdtemp(prefix="ccm-bench-preview-"))
    engine = make_engine(f"sqlite:///{folder / 'bench.db'}")
    upgrade(engine)
    with Session(engine) as session:
        load_registry(session, STOCK_DIR)
        session.commit()
        template = get_template(session, TEMPLATE)
        row = get_template_version(session, TEMPLATE)
        content = TemplateContent.of(row)
        spec, brand = resolve_specs(session, TEMPLATE)
        renderer = default_renderer()
        typed = [0]

        def render(channels: tuple[str, ...]) -> Callable[[], object]:
            def run() -> object:
                return [renderer.render(spec, brand, spec.sample_data, None, Channel(c))
                        for c in channels]
            return run

        def preview_same() -> object:
            return preview_content(session, template, content, CHANNELS)

        def preview_typed() -> object:
            typed[0] += 1
            bodies = {**content.bodies,
                      "email": content.bodies["email"] + "\n" + "x" * typed[0]}
            edited = TemplateContent.of(row, bodies=bodies)
            return preview_content(session, template, edited, CHANNELS)

        def preview_pdf() -> object:
            return preview_content(session, template, content, ("pdf",), thumbnails=True)

        families = [
            (rounds, {"render-3": render(CHANNELS), "preview-3-same": preview_same,
                      "preview-3-typed": preview_typed}, "render-3"),
            (pdf_rounds, {"render-pdf": render(("pdf",)),
                          "preview-pdf-thumbnails": preview_pdf}, "render-pdf"),
        ]
        print("| scenario | rounds | median | p90 | time ratio vs baseline (same run) |")
        print("|---|---:|---:|---:|---|")
        for count, scenarios, baseline in families:
            for run in scenarios.values():  # warm caches, fonts, compiled templates
                run()
            times: dict[str, list[float]] = {name: [] for name in scenarios}
            for index in range(count):
                order = list(scenarios.items())
                if index % 2:
                    order.reverse()
                for name, run in order:
                    start = time.perf_counter()
                    run()
                    times[name].append(time.perf_counter() - start)
            base = statistics.median(times[baseline])
            for name, values in times.items():
                median = statistics.median(values)
                p90 = sorted(values)[int(len(values) * 0.9) - 1]
                ratio = "" if name == baseline else f"{median / base:.2f} × {baseline}"
                print(f"| {name} | {count} | {median * 1000:.2f} ms | {p90 * 1000:.2f} ms "
                      f"| {ratio} |")


if __name__ == "__main__":
    main()
