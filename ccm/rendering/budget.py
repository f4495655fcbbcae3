"""What one render may spend, and how the sandbox measures what an operation would cost.

Every check here runs *before* the costly work: a value's size is estimated from its
inputs (a width, a repeat count, the text a list would turn into), so nothing huge is
ever built. Cheap steps spend ticks; every 32nd tick reads the clock. Values a template
produces (filter results, captured blocks, method results) are also charged to a total
allocation budget, which catches many bounded steps that add up.
"""

from __future__ import annotations

import re
import string
import time
from collections.abc import Iterable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from ccm.errors import RenderBudgetExceededError


@dataclass
class RenderBudget:
    """The limits of one render and what it has spent so far."""

    seconds: float = 5.0
    max_output_chars: int = 4_000_000
    max_value_chars: int = 1_000_000
    max_allocated_chars: int = 64_000_000
    max_range: int = 10_000
    max_int_bits: int = 4_096
    max_slow_filter_chars: int = 100_000
    output_chars: int = 0
    allocated_chars: int = 0
    deadline: float = field(default=0.0)
    ticks: int = 0

    def start(self) -> RenderBudget:
        self.deadline = time.monotonic() + self.seconds
        self.output_chars = self.allocated_chars = self.ticks = 0
        return self

    def tick(self) -> None:
        # Every step is bounded in size, so reading the clock every 32nd step is enough.
        # (The sandbox's hottest paths spell this out: ``ticks = budget.ticks =
        # budget.ticks + 1`` and, when ``not ticks & 31``, ``budget.check_clock()``.)
        self.ticks += 1
        if not self.ticks & 31:
            self.check_clock()

    def check_clock(self) -> None:
        if time.monotonic() > self.deadline:
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
                f"{what} would make a value of {size:,} characters or items; the limit is "
                f"{self.max_value_chars:,}"
            )

    def charge(self, size: int, what: str) -> None:
        """Count a value the template made towards the render's total allocation."""
        self.check_size(size, what)
        self.allocated_chars += size
        if self.allocated_chars > self.max_allocated_chars:
            raise RenderBudgetExceededError(
                f"template built more than {self.max_allocated_chars:,} characters of values"
            )

    def check_int(self, bits: int, what: str) -> None:
        if bits > self.max_int_bits:
            raise RenderBudgetExceededError(
                f"{what} would make a number of about {bits:,} bits; the limit is "
                f"{self.max_int_bits:,}"
            )


#: The budget of the render running in this thread or task; None outside a render.
current_budget: ContextVar[RenderBudget | None] = ContextVar("ccm_render_budget", default=None)
OUTSIDE_RENDER = RenderBudget(seconds=float("inf")).start()


def active_budget() -> RenderBudget:
    budget = current_budget.get()
    # Outside a render (Jinja compiling, tests) the size limits still hold.
    return budget if budget is not None else OUTSIDE_RENDER


def text_size(value: Any, cap: int) -> int:
    """About how many characters ``str(value)`` would have, counting at most to ``cap``.

    Containers are walked (a list of one long string repeated is as long as its text),
    stopping as soon as the count passes ``cap``, so the estimate itself stays cheap.
    """
    stack = [value]
    total = 0
    while stack:
        item = stack.pop()
        if isinstance(item, str | bytes):
            total += len(item) + 2
        elif isinstance(item, Mapping):
            total += 2 + 4 * len(item)
            if total <= cap:
                stack.extend(item.keys())
                stack.extend(item.values())
        elif isinstance(item, list | tuple | set | frozenset):
            total += 2 + 2 * len(item)
            if total <= cap:
                stack.extend(item)
        else:
            total += 24
        if total > cap:
            return total
    return total


def shallow_size(value: Any) -> int:
    return len(value) if isinstance(value, str | bytes | list | tuple | dict) else 0


_PERCENT_FIELD = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?[a-zA-Z%]")
_NUMBER = re.compile(r"\d+")


def _largest_argument(arguments: Iterable[Any], budget: RenderBudget) -> int:
    return max((text_size(a, budget.max_value_chars) for a in arguments), default=0)


def check_percent_format(fmt: str, arguments: Any, budget: RenderBudget) -> None:
    """``fmt % arguments``: fields x (largest argument + widest width) must fit."""
    fields, widest = 0, 0
    for match in _PERCENT_FIELD.finditer(fmt):
        width, precision = match.group(1), match.group(2)
        if width == "*" or precision == "*":
            budget.check_size(budget.max_value_chars + 1, "a '*' width in a % format")
        widest = max(widest, int(width or 0), int(precision or 0))
        fields += 1
    if isinstance(arguments, Mapping):
        values: Iterable[Any] = arguments.values()
    elif isinstance(arguments, tuple):
        values = arguments
    else:
        values = (arguments,)
    budget.check_size(len(fmt) + fields * (_largest_argument(values, budget) + widest),
                      "a % format")


def check_str_format(fmt: str, args: Iterable[Any], kwargs: Mapping[str, Any],
                     budget: RenderBudget) -> None:
    """``fmt.format(...)``: the same estimate, with nested (computed) widths refused."""
    fields, widest = 0, 0
    try:
        parsed = list(string.Formatter().parse(fmt))
    except ValueError:
        return  # str.format will raise its own error
    for _literal, name, spec, _conversion in parsed:
        if name is None:
            continue
        fields += 1
        if spec and "{" in spec:
            budget.check_size(budget.max_value_chars + 1, "a computed width in a format")
        widest = max([widest, *(int(n) for n in _NUMBER.findall(spec or ""))])
    largest = _largest_argument([*args, *kwargs.values()], budget)
    budget.check_size(len(fmt) + fields * (largest + widest), "a format")
