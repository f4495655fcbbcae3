"""The Jinja sandbox templates run in, with budgets on time, size and output.

Templates are written by semi-trusted users. ``ImmutableSandboxedEnvironment`` keeps them
away from Python internals; on top of it every render carries a :class:`RenderBudget`:

- operators that can grow values (``*``, ``**``, ``+``, ``%``, ``~``) and the filters and
  string methods that take a width or repeat text check the size of their result before
  building it;
- every loop, call, attribute access and output chunk spends a tick, and a tick past the
  deadline ends the render;
- the text a template produces is counted as it is produced.

Jinja folds constant expressions at compile time; an intercepted operator is never folded,
so ``{{ 10 ** 10**7 }}`` is checked at render time like any other.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from jinja2 import nodes, pass_context
from jinja2.filters import FILTERS
from jinja2.runtime import Context, markup_join, str_join
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.visitor import NodeTransformer

from ccm.errors import RenderBudgetExceededError

_FORMAT_WIDTH = re.compile(r"%[-#0 +]*(\d+|\*)|\{[^{}]*:[^{}]*?(\d+)[^{}]*\}")


@dataclass
class RenderBudget:
    """What one render may spend. Checked cooperatively by the sandbox."""

    seconds: float = 5.0
    max_output_chars: int = 4_000_000
    max_value_chars: int = 1_000_000
    max_range: int = 10_000
    max_int_bits: int = 4_096
    output_chars: int = 0
    deadline: float = field(default=0.0)
    ticks: int = 0

    def start(self) -> RenderBudget:
        self.deadline = time.monotonic() + self.seconds
        self.output_chars = 0
        self.ticks = 0
        return self

    def tick(self) -> None:
        # Every step is bounded in size, so reading the clock every 32nd step is enough.
        self.ticks += 1
        if not self.ticks & 31 and time.monotonic() > self.deadline:
            raise RenderBudgetExceededError(
                f"template evaluation took longer than its {self.seconds:g} s budget"
            )

    def spend_output(self, chars: int) -> None:
        self.output_chars += chars
        if self.output_chars > self.max_output_chars:
            raise RenderBudgetExceededError(
                f"template produced more than {self.max_output_chars:,} characters"
            )
        self.tick()

    def check_size(self, size: int, what: str) -> None:
        if size > self.max_value_chars:
            raise RenderBudgetExceededError(
                f"{what} would make a value of {size:,} items; the limit is "
                f"{self.max_value_chars:,}"
            )

    def check_int(self, bits: int, what: str) -> None:
        if bits > self.max_int_bits:
            raise RenderBudgetExceededError(
                f"{what} would make a number of about {bits:,} bits; the limit is "
                f"{self.max_int_bits:,}"
            )


#: The budget of the render running in this thread or task; None outside a render.
current_budget: ContextVar[RenderBudget | None] = ContextVar("ccm_render_budget", default=None)


def _budget() -> RenderBudget:
    budget = current_budget.get()
    # Outside a render (Jinja compiling, tests) the default limits still hold.
    return budget if budget is not None else _UNBOUNDED_TIME


_UNBOUNDED_TIME = RenderBudget(seconds=float("inf")).start()


def _sized(value: Any) -> int | None:
    return len(value) if isinstance(value, str | bytes | list | tuple) else None


def _check_format(fmt: str, budget: RenderBudget) -> None:
    for match in _FORMAT_WIDTH.finditer(fmt):
        width = match.group(1) or match.group(2)
        if width == "*" or (width and int(width) > budget.max_value_chars):
            budget.check_size(budget.max_value_chars + 1, "a format width")


class _TickingIterator:
    """Wraps a loop's iterable so that every step spends a tick."""

    __slots__ = ("_budget", "_iterator")

    def __init__(self, iterable: Iterable[Any], budget: RenderBudget) -> None:
        self._iterator = iter(iterable)
        self._budget = budget

    def __iter__(self) -> Iterator[Any]:
        return self

    def __next__(self) -> Any:
        self._budget.tick()
        return next(self._iterator)


@pass_context
def _loop_iterable(_context: Context, iterable: Any) -> Any:
    # LoopContext asks len() for loop.length/revindex; keep sized sequences sized.
    budget = _budget()
    budget.tick()
    if isinstance(iterable, list | tuple | range):
        return _TickingSequence(iterable, budget)
    return _TickingIterator(iterable, budget)


class _TickingSequence:
    __slots__ = ("_budget", "_items")

    def __init__(self, items: list[Any] | tuple[Any, ...] | range, budget: RenderBudget):
        self._items = items
        self._budget = budget

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[Any]:
        return _TickingIterator(self._items, self._budget)


@pass_context
def _concat(context: Context, parts: list[Any]) -> Any:
    strings = [p if isinstance(p, str) else str(p) for p in parts]
    _budget().check_size(sum(len(s) for s in strings), "joining text with '~'")
    return markup_join(parts) if context.eval_ctx.autoescape else str_join(parts)


def _budgeted_range(*args: int) -> range:
    budget = _budget()
    rng = range(*args)
    if len(rng) > budget.max_range:
        raise RenderBudgetExceededError(
            f"range of {len(rng):,} items; the limit is {budget.max_range:,}"
        )
    return rng


def _checked_filter(name: str, check: Callable[..., None]) -> Callable[..., Any]:
    original = FILTERS[name]

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        check(_budget(), *args, **kwargs)
        return original(*args, **kwargs)

    for attr in ("jinja_pass_arg",):
        if hasattr(original, attr):
            setattr(wrapper, attr, getattr(original, attr))
    wrapper.__name__ = original.__name__
    return wrapper


def _width_check(b: RenderBudget, value: Any, width: int = 80, *_a: Any, **_k: Any) -> None:
    b.check_size(len(str(value)) + max(int(width), 0), "a padding width")


def _indent_check(b: RenderBudget, value: Any, width: Any = 4, *_a: Any, **_k: Any) -> None:
    pad = len(width) if isinstance(width, str) else int(width)
    text = str(value)
    b.check_size(len(text) + pad * (text.count("\n") + 1), "indent")


def _format_check(b: RenderBudget, value: Any, *_a: Any, **_k: Any) -> None:
    _check_format(str(value), b)


def _replace_check(b: RenderBudget, _ctx: Any, value: Any, old: Any, new: Any,
                   count: Any = None) -> None:
    text, old_s, new_s = str(value), str(old), str(new)
    hits = text.count(old_s) if old_s else len(text) + 1
    b.check_size(len(text) + hits * max(len(new_s) - len(old_s), 0), "replace")


def _join_check(b: RenderBudget, _ctx: Any, value: Any, d: Any = "", *_a: Any,
                **_k: Any) -> None:
    if isinstance(value, list | tuple):
        total = sum(len(str(v)) for v in value) + len(str(d)) * len(value)
        b.check_size(total, "join")


def _batch_check(b: RenderBudget, value: Any, linecount: Any, *_a: Any, **_k: Any) -> None:
    b.check_size(int(linecount), "batch")


_DICT_ATTRIBUTES = frozenset(dir(dict))
_GROWING_STR_METHODS = frozenset({"center", "ljust", "rjust", "zfill", "expandtabs"})


class BudgetedSandbox(ImmutableSandboxedEnvironment):
    """ImmutableSandboxedEnvironment whose every costly step spends the render budget."""

    intercepted_binops = frozenset({"*", "**", "+", "%", "//"})

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.globals["range"] = _budgeted_range
        self.filters.update(
            ccm_loop=_loop_iterable,
            ccm_concat=_concat,
            center=_checked_filter("center", _width_check),
            indent=_checked_filter("indent", _indent_check),
            format=_checked_filter("format", _format_check),
            replace=_checked_filter("replace", _replace_check),
            join=_checked_filter("join", _join_check),
            batch=_checked_filter("batch", _batch_check),
            slice=_checked_filter("slice", _batch_check),
        )

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        tree = _BudgetTransformer().visit(super()._parse(source, name, filename))
        tree.set_environment(self)
        return tree  # type: ignore[no-any-return]

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        budget = _budget()
        budget.tick()
        if operator == "**" and isinstance(left, int) and isinstance(right, int):
            if right > 0 and abs(left) > 1:
                budget.check_int(left.bit_length() * right, "'**'")
        elif operator == "*":
            if isinstance(left, int) and isinstance(right, int):
                budget.check_int(left.bit_length() + right.bit_length(), "'*'")
            else:
                size, times = _sized(left), right
                if size is None:
                    size, times = _sized(right), left
                if size is not None and isinstance(times, int):
                    budget.check_size(size * times, "'*'")
        elif operator == "+":
            left_size, right_size = _sized(left), _sized(right)
            if left_size is not None and right_size is not None:
                budget.check_size(left_size + right_size, "'+'")
        elif operator == "%" and isinstance(left, str):
            _check_format(left, budget)
        return super().call_binop(context, operator, left, right)

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        budget = _budget()
        budget.tick()
        # The sandbox hands str.format out wrapped; look at the method underneath.
        method = getattr(__obj, "__wrapped__", __obj)
        owner = getattr(method, "__self__", None)
        if isinstance(owner, str):
            name = getattr(method, "__name__", "")
            if name in _GROWING_STR_METHODS:
                width = args[0] if args else 0
                if isinstance(width, int):
                    budget.check_size(len(owner) + width * (8 if name == "expandtabs" else 1),
                                      name)
            elif name in ("format", "format_map"):
                _check_format(owner, budget)
            elif name == "replace" and len(args) >= 2:
                _replace_check(budget, None, owner, args[0], args[1])
            elif name == "join" and args:
                _join_check(budget, None, list(args[0]), owner)
        return super().call(__context, __obj, *args, **kwargs)

    def getattr(self, obj: Any, attribute: str) -> Any:
        _budget().tick()
        # Customer data is dicts: `item.amount` is a key, never an attribute of dict, and
        # looking it up directly skips an AttributeError per access.
        if type(obj) is dict and attribute not in _DICT_ATTRIBUTES:
            try:
                return obj[attribute]
            except KeyError:
                pass
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        _budget().tick()
        return super().getitem(obj, argument)


class _BudgetTransformer(NodeTransformer):
    """Routes every loop's iterable and every ``~`` through budget-checking filters."""

    def visit_For(self, node: nodes.For) -> nodes.Node:
        visited = self.generic_visit(node)
        assert isinstance(visited, nodes.For)
        visited.iter = nodes.Filter(visited.iter, "ccm_loop", [], [], None, None,
                                    lineno=visited.lineno)
        return visited

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        visited = self.generic_visit(node)
        assert isinstance(visited, nodes.Concat)
        parts = nodes.List(visited.nodes, lineno=visited.lineno)
        return nodes.Filter(parts, "ccm_concat", [], [], None, None, lineno=visited.lineno)
