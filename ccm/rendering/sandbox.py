"""The Jinja sandbox templates run in, with budgets on time, size and output.

Templates are written by semi-trusted users. ``ImmutableSandboxedEnvironment`` keeps them
away from Python internals; on top of it every render carries a
:class:`~ccm.rendering.budget.RenderBudget`:

- operators that can grow values (``*``, ``**``, ``+``, ``%``, ``~``), string methods
  that repeat or pad text, ``str.format`` and every filter check the size of what they
  would build before building it; filters that turn a list into text are measured on the
  text the list would become;
- filters whose running time grows faster than their input (word wrapping, tag
  stripping, link detection) refuse very long input;
- every loop step, call, attribute access, filter and chunk of output spends a tick, and
  ticks read the clock;
- captured output (``{% set %}`` blocks, macros, ``{% filter %}``) and every value a
  filter or method returns is charged to a total allocation budget.

Jinja folds constant expressions at compile time; an intercepted operator is never folded,
so ``{{ 10 ** 10**7 }}`` is checked at render time like any other. ``random`` and
``lipsum`` are removed: the same inputs must give the same document.

Fast paths, each deciding by identity or exact type only, each giving what the generic
check would give, and none skipping a tick or a charge: calls of functions the engine
made and trusted (:meth:`BudgetedSandbox.trust`: the render's translation functions,
``range``) and of Jinja's own ``loop.changed``/``loop.cycle``; ``loop.index`` and the
other counters of a real LoopContext; dict keys; and ``{{ value }}`` in escaped output
printed in one step (:func:`_print_escaped`, the same text as ``escape(finalize(value))``).
The translation functions check what ``% variables`` would build before building it
(:mod:`ccm.rendering.i18n`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from types import FunctionType, MethodType
from typing import Any

import markupsafe
from jinja2 import nodes, pass_context
from jinja2.compiler import CodeGenerator, Frame
from jinja2.runtime import Context, LoopContext, markup_join, str_join
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.visitor import NodeTransformer

from ccm.errors import RenderBudgetExceededError
from ccm.rendering.budget import (
    OUTSIDE_RENDER,
    RenderBudget,
    active_budget,
    check_percent_format,
    check_str_format,
    current_budget,
    shallow_size,
    text_size,
)

__all__ = ["BudgetedSandbox", "RenderBudget", "current_budget"]

#: Filters that never turn their input into text (they count, pick or reorder).
_NON_TEXT_FILTERS = frozenset({
    "length", "count", "first", "last", "list", "sort", "map", "select", "reject",
    "selectattr", "rejectattr", "unique", "min", "max", "batch", "slice", "groupby",
    "dictsort", "items", "reverse", "default", "d", "attr", "ccm_loop", "ccm_concat", "sum",
    "abs", "int", "float", "round", "money", "number", "percent", "date", "datetime",
    "currency_symbol", "boolean",
})
#: Filters whose time grows faster than their input: long input is refused.
_SLOW_FILTERS = frozenset({"wordwrap", "striptags", "urlize", "truncate", "title",
                           "capitalize", "center", "indent"})
_REMOVED_FILTERS = ("random",)
#: Filters whose arguments decide how big the result is (see _check_filter_arguments).
_ARGUMENT_SIZED_FILTERS = frozenset({"center", "indent", "format", "replace", "wordwrap",
                                     "batch", "slice", "sum"})
#: The hot paths read the context variable directly rather than through a function.
_budget_of_render = current_budget.get
_DICT_ATTRIBUTES = frozenset(dir(dict))
_PADDING_METHODS = frozenset({"center", "ljust", "rjust", "zfill"})
#: ``loop.<name>`` a template may read without the generic attribute check: Jinja's own
#: LoopContext methods and counters, whose values are its bound methods, ints and bools
#: (never a ``str.format``, never private). ``previtem``/``nextitem`` (data) are not here.
_LOOP_ATTRIBUTES = frozenset({
    "changed", "cycle", "index", "index0", "revindex", "revindex0", "first", "last",
    "length", "depth", "depth0",
})
#: The LoopContext methods a template may call without the generic call checks: they
#: compare or pick among values the template passes them.
_LOOP_CHANGED = LoopContext.changed
_LOOP_CYCLE = LoopContext.cycle
#: What ``@pass_context`` marks a function with (Jinja's own marker, as the filters use).
_PASSES_CONTEXT = getattr(pass_context(lambda context: None), "jinja_pass_arg")  # noqa: B009


def _sized(value: Any) -> int | None:
    return len(value) if isinstance(value, str | bytes | list | tuple) else None


class _TickingIterator:
    """Wraps a loop's iterable so that every step spends a tick."""

    __slots__ = ("_budget", "_iterator")

    def __init__(self, iterable: Iterable[Any], budget: RenderBudget) -> None:
        self._iterator = iter(iterable)
        self._budget = budget

    def __iter__(self) -> Iterator[Any]:
        return self

    def __next__(self) -> Any:
        budget = self._budget
        ticks = budget.ticks = budget.ticks + 1
        if not ticks & 31:
            budget.check_clock()
        return next(self._iterator)


class _TickingSequence:
    # LoopContext asks len() for loop.length/revindex; sized sequences stay sized.
    __slots__ = ("_budget", "_items")

    def __init__(self, items: list[Any] | tuple[Any, ...] | range, budget: RenderBudget):
        self._items = items
        self._budget = budget

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[Any]:
        return _TickingIterator(self._items, self._budget)


@pass_context
def _loop_iterable(_context: Context, iterable: Any) -> Any:
    budget = active_budget()
    budget.tick()
    if isinstance(iterable, list | tuple | range):
        return _TickingSequence(iterable, budget)
    return _TickingIterator(iterable, budget)


@pass_context
def _concat(context: Context, parts: list[Any]) -> Any:
    budget = active_budget()
    budget.charge(sum(text_size(p, budget.max_value_chars) for p in parts),
                  "joining text with '~'")
    return markup_join(parts) if context.eval_ctx.autoescape else str_join(parts)


def _counted_concat(parts: Iterable[str]) -> str:
    # Jinja joins captured output with environment.concat: set blocks, macros, caller().
    items = list(parts)
    active_budget().charge(sum(map(len, items)), "captured output")
    return "".join(items)


def _charge_printed_value(value: Any) -> Any:
    # Every {{ expression }} passes here, also inside macros and set blocks, where escaping
    # makes a new string that the output count would only see at the end. Hot path: the
    # common case is one addition and one comparison.
    if isinstance(value, str):
        budget = _budget_of_render() or OUTSIDE_RENDER
        budget.allocated_chars += len(value)
        if budget.allocated_chars > budget.max_allocated_chars:
            budget.charge(len(value), "printed value")  # raises, naming the limit
    return value


_Markup = markupsafe.Markup
#: markupsafe's escaping of a plain string to its text (C); what ``escape`` wraps in Markup.
_escape_text: Callable[[str], str] = getattr(
    markupsafe, "_escape_inner", lambda text: str(markupsafe.escape(text))
)


def _print_escaped(value: Any) -> Any:
    """``escape(_charge_printed_value(value))``, as Jinja prints ``{{ value }}`` in HTML,
    in one step. A plain string gives its escaped text as a plain string rather than as
    Markup: printed output is only ever joined, so its type never shows; markupsafe's
    Python-level ``escape`` and ``Markup.__new__`` are skipped. Anything else goes the
    usual way."""
    kind = type(value)
    if kind is str or kind is _Markup:
        budget = _budget_of_render() or OUTSIDE_RENDER
        budget.allocated_chars += len(value)
        if budget.allocated_chars > budget.max_allocated_chars:
            budget.charge(len(value), "printed value")  # raises, naming the limit
        # escape(Markup) is Markup(value.__html__()): the same text, as Markup is final
        # about __html__ (its own, returning itself; no instance may override it).
        return _escape_text(value) if kind is str else value
    return markupsafe.escape(_charge_printed_value(value))


class _BudgetCodeGenerator(CodeGenerator):
    """Jinja's code generator, printing through :func:`_print_escaped` where it would
    write ``escape(environment.finalize(...))`` (an escaping, non-volatile context with
    the sandbox's own finalize); the same text, one call instead of three."""

    def _fused(self, frame: Frame, finalize: CodeGenerator._FinalizeInfo) -> bool:
        return (not frame.eval_ctx.volatile and bool(frame.eval_ctx.autoescape)
                and finalize.src == "environment.finalize("
                and self.environment.finalize is _charge_printed_value)

    def _output_child_pre(self, node: nodes.Expr, frame: Frame,
                          finalize: CodeGenerator._FinalizeInfo) -> None:
        if self._fused(frame, finalize):
            self.write("environment.ccm_print_escaped(")
        else:
            super()._output_child_pre(node, frame, finalize)

    def _output_child_post(self, node: nodes.Expr, frame: Frame,
                           finalize: CodeGenerator._FinalizeInfo) -> None:
        if self._fused(frame, finalize):
            self.write(")")
        else:
            super()._output_child_post(node, frame, finalize)


def _budgeted_range(*args: int) -> range:
    budget = active_budget()
    rng = range(*args)
    if len(rng) > budget.max_range:
        raise RenderBudgetExceededError(
            f"range of {len(rng):,} items; the limit is {budget.max_range:,}"
        )
    return rng


def _guard_filter(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    """Wraps a filter: measure its input before, charge its result after."""
    passes_context = getattr(func, "jinja_pass_arg", None) is not None
    makes_text = name not in _NON_TEXT_FILTERS
    slow = name in _SLOW_FILTERS
    sized_by_arguments = name in _ARGUMENT_SIZED_FILTERS

    def guarded(*args: Any, **kwargs: Any) -> Any:
        budget = _budget_of_render() or OUTSIDE_RENDER
        budget.tick()
        value = args[1] if passes_context else args[0]
        if makes_text and not isinstance(value, str | int | float):
            budget.check_size(text_size(value, budget.max_value_chars), f"filter {name!r}")
        if slow and isinstance(value, str) and len(value) > budget.max_slow_filter_chars:
            raise RenderBudgetExceededError(
                f"filter {name!r} on {len(value):,} characters; the limit for it is "
                f"{budget.max_slow_filter_chars:,}"
            )
        if sized_by_arguments:
            _check_filter_arguments(name, value, args[2:] if passes_context else args[1:],
                                    kwargs, budget)
        return _charge_filter_result(func(*args, **kwargs), budget, name)

    def guarded_output(*args: Any, **kwargs: Any) -> Any:
        # The same, for a filter whose input needs no look (it counts, picks or formats
        # a number): only the tick and the charge on its result.
        budget = _budget_of_render() or OUTSIDE_RENDER
        ticks = budget.ticks = budget.ticks + 1
        if not ticks & 31:
            budget.check_clock()
        return _charge_filter_result(func(*args, **kwargs), budget, name)

    wrapper = guarded if makes_text or slow or sized_by_arguments else guarded_output
    if passes_context:
        wrapper.jinja_pass_arg = func.jinja_pass_arg  # type: ignore[attr-defined]
    wrapper.__name__ = getattr(func, "__name__", name)
    return wrapper


def _charge_filter_result(result: Any, budget: RenderBudget, name: str) -> Any:
    if result.__class__ is str:  # the common case, without the generic size check
        budget.allocated_chars += len(result)
        if len(result) <= budget.max_value_chars and \
                budget.allocated_chars <= budget.max_allocated_chars:
            return result
        budget.allocated_chars -= len(result)
    budget.charge(shallow_size(result), f"filter {name!r}")
    return result


def _check_filter_arguments(name: str, value: Any, rest: tuple[Any, ...],
                            kwargs: dict[str, Any], budget: RenderBudget) -> None:
    """Filters whose arguments decide how big the result is (``rest``: after the value)."""
    text = value if isinstance(value, str) else ""
    if name == "center" and rest:
        budget.check_size(len(text) + max(int(rest[0]), 0), "filter 'center'")
    elif name == "indent":
        width = kwargs.get("width", rest[0] if rest else 4)
        pad = len(width) if isinstance(width, str) else int(width)
        budget.check_size(len(text) + pad * (text.count("\n") + 1), "filter 'indent'")
    elif name == "format":
        check_percent_format(text, tuple(rest) or kwargs, budget)
    elif name == "replace" and len(rest) >= 2:
        old, new = str(rest[0]), str(rest[1])
        hits = text.count(old) if old else len(text) + 1
        budget.check_size(len(text) + hits * max(len(new) - len(old), 0), "filter 'replace'")
    elif name == "wordwrap":
        wrap = kwargs.get("wrapstring", rest[2] if len(rest) > 2 else "\n")
        width = max(int(kwargs.get("width", rest[0] if rest else 79)), 1)
        budget.check_size(len(text) * (1 + len(str(wrap) or "\n")) // width + len(text),
                          "filter 'wordwrap'")
    elif name in ("batch", "slice") and rest:
        budget.check_size(int(rest[0]), f"filter {name!r}")
    elif name == "sum":
        start = kwargs.get("start", rest[1] if len(rest) > 1 else 0)
        if not isinstance(start, int | float):
            raise RenderBudgetExceededError("filter 'sum' adds numbers only")


def _call_engine_function(context: Context, func: Callable[..., Any], pass_context: bool,
                          args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """What :meth:`jinja2.runtime.Context.call` does, for a plain function whose passing
    of the context is known (``pass_context``) and that has no ``__call__`` of its own."""
    if pass_context:
        if kwargs.get("_loop_vars"):
            context = context.derived(kwargs["_loop_vars"])
        if kwargs.get("_block_vars"):
            context = context.derived(kwargs["_block_vars"])
        args = (context, *args)
    kwargs.pop("_block_vars", None)
    kwargs.pop("_loop_vars", None)
    try:
        return func(*args, **kwargs)
    except StopIteration:
        return context.environment.undefined(
            "value was undefined because a callable raised a StopIteration exception"
        )


class BudgetedSandbox(ImmutableSandboxedEnvironment):
    """ImmutableSandboxedEnvironment whose every costly step spends the render budget."""

    intercepted_binops = frozenset({"*", "**", "+", "%", "//"})
    code_generator_class = _BudgetCodeGenerator
    ccm_print_escaped = staticmethod(_print_escaped)

    def __init__(self, **options: Any) -> None:
        options.setdefault("finalize", _charge_printed_value)
        super().__init__(**options)
        #: Plain functions the engine made and vouches for -> whether they take the
        #: context. Only :meth:`trust` adds to it; see :meth:`call`.
        self._engine_functions: dict[Callable[..., Any], bool] = {}
        self.globals["range"] = _budgeted_range
        self.trust(_budgeted_range)
        self.globals.pop("lipsum", None)
        self.concat = _counted_concat  # type: ignore[method-assign]
        for name in _REMOVED_FILTERS:
            self.filters.pop(name, None)
        self.filters.update(ccm_loop=_loop_iterable, ccm_concat=_concat)
        self.guard_filters()

    def trust(self, *functions: Callable[..., Any]) -> None:
        """Let :meth:`call` skip the generic checks for these functions, which the engine
        made itself (the render's translation functions, ``range``): plain Python
        functions, safe to call with any arguments, whose results are still charged to
        the budget. Nothing a template or data can reach adds to this set."""
        for func in functions:
            pass_arg = getattr(func, "jinja_pass_arg", None)
            if type(func) is not FunctionType or pass_arg not in (None, _PASSES_CONTEXT) \
                    or "__call__" in func.__dict__ or not self.is_safe_callable(func):
                raise TypeError(f"only plain, safe functions can be trusted, not {func!r}")
            self._engine_functions[func] = pass_arg is _PASSES_CONTEXT

    def distrust(self, *functions: Callable[..., Any]) -> None:
        """Send these functions back through the generic checks (always safe to do)."""
        for func in functions:
            self._engine_functions.pop(func, None)

    def guard_filters(self) -> None:
        """Wrap every filter (call again after adding filters)."""
        for name, func in list(self.filters.items()):
            if not getattr(func, "ccm_guarded", False):
                guarded = _guard_filter(name, func)
                guarded.ccm_guarded = True  # type: ignore[attr-defined]
                self.filters[name] = guarded

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        tree = _BudgetTransformer().visit(super()._parse(source, name, filename))
        tree.set_environment(self)
        return tree  # type: ignore[no-any-return]

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        budget = active_budget()
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
                    budget.charge(size * times, "'*'")
        elif operator == "+":
            left_size, right_size = _sized(left), _sized(right)
            if left_size is not None and right_size is not None:
                budget.charge(left_size + right_size, "'+'")
        elif operator == "%" and isinstance(left, str):
            check_percent_format(left, right, budget)
        return super().call_binop(context, operator, left, right)

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        budget = _budget_of_render() or OUTSIDE_RENDER
        ticks = budget.ticks = budget.ticks + 1
        if not ticks & 31:
            budget.check_clock()
        # Fast path, by identity only: a function the engine made and trusted (the
        # translation functions, range), or Jinja's own loop.changed/loop.cycle bound to a
        # real LoopContext. These are safe to call whatever the arguments, are not string
        # methods, and Jinja's generic checks would pass them; their result is charged
        # below like any other. Everything else takes the generic path.
        kind = type(__obj)
        # (A function hashes and compares by identity.)
        if kind is FunctionType and \
                (passes_context := __self._engine_functions.get(__obj)) is not None:
            result = _call_engine_function(__context, __obj, passes_context, args, kwargs)
        elif kind is MethodType and type(__obj.__self__) is LoopContext and (
                __obj.__func__ is _LOOP_CHANGED or __obj.__func__ is _LOOP_CYCLE):
            result = _call_engine_function(__context, __obj, False, args, kwargs)
        else:
            # The sandbox hands str.format out wrapped; look at the method underneath.
            method = getattr(__obj, "__wrapped__", __obj)
            owner = getattr(method, "__self__", None)
            if isinstance(owner, str):
                args = _check_str_method(owner, getattr(method, "__name__", ""), args,
                                         kwargs, budget)
            result = super().call(__context, __obj, *args, **kwargs)
        if isinstance(result, str):  # the common case (translations), as charge() does it
            size = len(result)
            if size <= budget.max_value_chars:
                budget.allocated_chars += size
                if budget.allocated_chars <= budget.max_allocated_chars:
                    return result
                budget.allocated_chars -= size
        budget.charge(shallow_size(result), "a method call")
        return result

    def getattr(self, obj: Any, attribute: str) -> Any:
        budget = _budget_of_render() or OUTSIDE_RENDER
        ticks = budget.ticks = budget.ticks + 1
        if not ticks & 31:
            budget.check_clock()
        kind = type(obj)
        # Customer data is dicts: `item.amount` is a key, never an attribute of dict, and
        # looking it up directly skips an AttributeError per access.
        if kind is dict and attribute not in _DICT_ATTRIBUTES:
            try:
                return obj[attribute]
            except KeyError:
                pass
        elif kind is LoopContext and attribute in _LOOP_ATTRIBUTES:
            # What the generic check concludes for these names, without its steps.
            try:
                return getattr(obj, attribute)
            except AttributeError:
                return self.undefined(obj=obj, name=attribute)
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        active_budget().tick()
        return super().getitem(obj, argument)


def _check_str_method(text: str, name: str, args: tuple[Any, ...], kwargs: dict[str, Any],
                      budget: RenderBudget) -> tuple[Any, ...]:
    """Size checks for string methods that can grow text; returns the arguments to use."""
    if name in _PADDING_METHODS and args and isinstance(args[0], int):
        budget.check_size(len(text) + args[0], name)
    elif name == "expandtabs":
        size = args[0] if args and isinstance(args[0], int) else 8
        budget.check_size(len(text) + text.count("\t") * max(size, 0), name)
    elif name in ("format", "format_map"):
        mapping = args[0] if name == "format_map" and args else kwargs
        check_str_format(text, args if name == "format" else (), mapping, budget)
    elif name == "replace" and len(args) >= 2:
        old, new = str(args[0]), str(args[1])
        hits = text.count(old) if old else len(text) + 1
        budget.check_size(len(text) + hits * max(len(new) - len(old), 0), name)
    elif name == "join" and args:
        items = list(args[0])  # once: a generator must reach join with its items
        budget.check_size(text_size(items, budget.max_value_chars) + len(text) * len(items),
                          name)
        args = (items, *args[1:])
    elif name == "translate" and args:
        table = args[0]
        longest = max((len(v) for v in getattr(table, "values", dict)()
                       if isinstance(v, str)), default=1)
        budget.check_size(len(text) * max(longest, 1), name)
    elif name == "maketrans":
        budget.check_size(text_size(args, budget.max_value_chars), name)
    return args


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
