"""Line breaking remembered across documents.

WeasyPrint lays text out with Pango one text box at a time: ``split_first_line`` builds
a Pango layout, shapes the text and reports where the first line ends and how big it is.
It is the largest single cost of a bill (labels, headings, table cells measured for
their minimum and maximum widths, then broken into lines), and most of a bill's text
is the same from one customer to the next. Its result depends only on the text, the
available width and the text's font and spacing properties, so :class:`LineBreakMemo`
keeps it per font configuration and answers again without Pango.

What is kept is exactly what the function returns: the numbers, and the layout object
in the state the function leaves it (deactivated, Pango's objects released: drawing
rebuilds them from the text and the box's style). Every answer from the memo is a fresh
copy of that object, because drawing changes it (it is reactivated, an ellipsis may be
added to its text). The key holds every style property the function and what it calls
read (``tests/rendering/test_line_breaks.py`` reads WeasyPrint's sources to keep the
list complete). Not remembered: a property still holding an unresolved ``calc()`` (it
is resolved inside the function, against the root font size or the page), and texts
longer than :data:`MAX_TEXT` (each line of a paragraph is asked with the rest of it).
The memo is emptied whenever its font configuration gains a font, by whatever route:
a brand stylesheet, a document's own ``@font-face``, an SVG image's
(:class:`FontsWatched`).

The hook replaces ``split_first_line`` where WeasyPrint's inline layout and intrinsic
width code look it up, and only renders that activate a memo (:func:`remembering`) use
it; any other WeasyPrint call in the process gets the original function.
"""

from __future__ import annotations

import inspect
import logging
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from tinycss2.ast import Node  # type: ignore[import-untyped]
from weasyprint.layout import inline as weasyprint_inline
from weasyprint.layout import preferred as weasyprint_preferred
from weasyprint.text import line_break as weasyprint_line_break
from weasyprint.text.fonts import FontConfiguration

LOGGER = logging.getLogger(__name__)

#: The style properties ``split_first_line`` and the functions it calls read.
TEXT_PROPERTIES: tuple[str, ...] = (
    "direction", "font_family", "font_feature_settings", "font_kerning",
    "font_language_override", "font_size", "font_stretch", "font_style",
    "font_variant_alternates", "font_variant_caps", "font_variant_east_asian",
    "font_variant_ligatures", "font_variant_numeric", "font_variant_position",
    "font_variation_settings", "font_weight", "hyphenate_character",
    "hyphenate_limit_chars", "hyphenate_limit_zone", "hyphens", "lang", "letter_spacing",
    "line_height", "overflow_wrap", "tab_size", "text_decoration_line", "white_space",
    "word_break", "word_spacing",
)

#: Longer texts are measured afresh: bills' labels, cells and lines are far shorter, and
#: a long paragraph would be kept once per line, each time with all the text after it.
MAX_TEXT = 400

_PARAMETERS = ("text", "style", "context", "max_width", "justification_spacing",
               "is_line_start", "minimum")

SplitResult = tuple[Any, int, int | None, float, float, float]
_original: Callable[..., SplitResult] = weasyprint_line_break.split_first_line
_Layout = weasyprint_line_break.Layout


def _key(text: str, style: Any, max_width: float | None, justification_spacing: float,
         is_line_start: bool, minimum: bool) -> tuple[Any, ...] | None:
    """What a call's answer depends on; None if it is not to be remembered: a long text,
    a property still holding a ``calc()`` the function itself resolves (against the root
    font size or the page, which are not in the key), or a value that cannot be hashed."""
    if len(text) > MAX_TEXT:
        return None
    values = [style[name] for name in TEXT_PROPERTIES]
    if any(isinstance(value, Node) for value in values):
        return None
    key = (text, max_width, justification_spacing, is_line_start, minimum, *values)
    try:
        hash(key)
    except TypeError:
        return None
    return key


class LineBreakMemo:
    """``split_first_line`` results for one font configuration, least recently used
    dropped first beyond ``max_entries``."""

    def __init__(self, max_entries: int = 20_000) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[tuple[Any, ...], tuple[dict[str, Any], int, int | None,
                                                          float, float, float]] = \
            OrderedDict()
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        """Forget everything (the font configuration changed)."""
        self._entries.clear()

    def split_first_line(self, text: str, style: Any, context: Any, max_width: float | None,
                         justification_spacing: float, is_line_start: bool = True,
                         minimum: bool = False) -> SplitResult:
        key = _key(text, style, max_width, justification_spacing, is_line_start, minimum)
        if key is None:
            return _original(text, style, context, max_width, justification_spacing,
                             is_line_start, minimum)
        entry = self._entries.get(key)
        if entry is None:
            self.misses += 1
            result = _original(text, style, context, max_width, justification_spacing,
                               is_line_start, minimum)
            layout = result[0]
            if hasattr(layout, "layout"):  # still holds Pango objects: not a plain value
                return result
            self._entries[key] = (dict(layout.__dict__), *result[1:])
            if len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
            return result
        self.hits += 1
        self._entries.move_to_end(key)
        layout = _Layout.__new__(_Layout)
        layout.__dict__.update(entry[0])
        return (layout, *entry[1:])


class FontsWatched(FontConfiguration):  # type: ignore[misc]
    """A font configuration that empties ``memo`` whenever it gains a font: what a font
    family resolves to may change, so earlier measurements may no longer hold."""

    def __init__(self) -> None:
        super().__init__()
        self.memo: LineBreakMemo | None = None

    def add_font_face(self, rule_descriptors: Any, url_fetcher: Any) -> Any:
        result = super().add_font_face(rule_descriptors, url_fetcher)
        if self.memo is not None:
            self.memo.clear()
        return result


_active: ContextVar[LineBreakMemo | None] = ContextVar("ccm_line_break_memo", default=None)


def _split_first_line(text: str, style: Any, context: Any, max_width: float | None,
                      justification_spacing: float, is_line_start: bool = True,
                      minimum: bool = False) -> SplitResult:
    memo = _active.get()
    if memo is None:
        return _original(text, style, context, max_width, justification_spacing,
                         is_line_start, minimum)
    return memo.split_first_line(text, style, context, max_width, justification_spacing,
                                 is_line_start, minimum)


def _install() -> bool:
    """Put the hook where WeasyPrint looks the function up, if it is the one expected."""
    parameters = tuple(inspect.signature(_original).parameters)
    modules = (weasyprint_inline, weasyprint_preferred)
    if parameters != _PARAMETERS or any(
            getattr(module, "split_first_line", None) not in (_original, _split_first_line)
            for module in modules):
        LOGGER.warning("WeasyPrint's split_first_line is not the expected one; "
                       "line breaks are not remembered across documents")
        return False
    for module in modules:
        module.split_first_line = _split_first_line
    return True


INSTALLED = _install()


@contextmanager
def remembering(memo: LineBreakMemo | None) -> Iterator[None]:
    """Within the block, WeasyPrint's line breaking in this context uses ``memo``."""
    token = _active.set(memo)
    try:
        yield
    finally:
        _active.reset(token)
