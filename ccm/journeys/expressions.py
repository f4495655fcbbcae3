"""A small, safe expression language for journey conditions.

Marketing users write conditions in journey YAML, for example::

    payload.amount > 100 and customer.attributes.tenure_months >= 12
    customer.locale in ["de_DE", "de_AT"] or not customer.attributes.paperless
    len(payload.items) >= 3 and lower(customer.preferred_channel) != "sms"

Grammar (Python's expression syntax, cut down to a whitelist)::

    condition  := condition ("and" | "or") condition | "not" condition | comparison
    comparison := sum (("==" | "!=" | "<" | "<=" | ">" | ">=" | "in" | "not in") sum)*
    sum        := sum ("+" | "-" | "*" | "/" | "%") sum | "-" sum | primary
    primary    := atom ("." name | "[" string "]" | "[" ["-"] integer "]")*
    atom       := root | literal | "[" items "]" | "(" items ")" | "(" condition ")"
                | ("len" | "lower" | "upper" | "exists" | "number") "(" condition ")"
    literal    := string | integer | float | true | false | null   (True, False, None too)

The roots are ``event``, ``payload`` and ``customer`` unless the caller names others.
``a.b`` and ``a["b"]`` look up key ``"b"`` in the mapping ``a``; ``a[0]`` indexes a list.

Why ``ast`` with a whitelist, and never ``eval``: the source is parsed by Python's own
parser (``ast.parse(mode="eval")``), then every node is checked against the short list
above and turned once into a tree of small closures. Nothing of the source is ever
executed as Python, so there is no attribute access (``a.b`` is a key lookup, never
``getattr``), no method calls, no builtins and no imports to escape through. Every
problem (syntax, an unknown name or function, a refused construct, a size limit) is an
:class:`~ccm.errors.ExpressionError` when the journey is *loaded*, with the offset of the
problem in the source. Evaluation, at send time, is total: missing data reads as ``None``,
comparisons of unlike types are false and arithmetic that cannot be done gives ``None``,
so a condition never raises because of the data it looks at.

Semantics in short:

* a missing key or index, or a lookup on something that is not a mapping (or, for an
  integer index, a list), gives ``None``;
* ``==`` and ``!=`` compare normally, except that int, float and Decimal compare by value
  (a float meets a Decimal through ``str``), lists and tuples compare element-wise, and
  ``true``/``false`` equal only booleans, never ``1``/``0``;
* ``<``, ``<=``, ``>`` and ``>=`` order numbers with numbers and strings with strings; any
  other pair (``null < 3``, ``"a" < 1``) is false;
* ``x in c`` looks for a substring in a string, an element in a list or a key in a mapping;
  on anything else it is false (and ``not in`` is its exact negation);
* ``+ - * / %`` and unary ``-`` work on numbers only (a bool is not a number); a non-number,
  a division by zero or a result beyond 10**15 in magnitude gives ``None``;
* ``and``/``or`` short-circuit and give an operand, as in Python; the condition holds when
  its value is truthy (``None``, ``false``, zero and empty text/lists/mappings are not).
"""

from __future__ import annotations

import ast
import json
import keyword
import math
import operator
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Context, Decimal
from typing import Any, Final, NoReturn

from ccm.errors import ExpressionError

__all__ = [
    "DEFAULT_NAMES",
    "FUNCTIONS",
    "MAX_DEPTH",
    "MAX_NODES",
    "MAX_NUMBER",
    "MAX_SOURCE_LENGTH",
    "Condition",
    "compile_condition",
    "referenced_paths",
]

MAX_SOURCE_LENGTH: Final = 1000
"""Longest condition source, in characters."""
MAX_NODES: Final = 200
"""Most syntax-tree nodes a condition may have (operator and context markers not counted)."""
MAX_DEPTH: Final = 32
"""Deepest nesting of syntax-tree nodes in a condition."""
MAX_NUMBER: Final = 10**15
"""Largest magnitude of a number constant, and of an arithmetic result."""

DEFAULT_NAMES: Final = ("event", "payload", "customer")
FUNCTIONS: Final = ("len", "lower", "upper", "exists", "number")

_FUNCTION_LIST: Final = ", ".join(FUNCTIONS)
_ALIASES: Final[Mapping[str, Any]] = {"true": True, "false": False, "null": None}
_MAX_DATA_DEPTH: Final = 64  # how deep == compares nested lists and mappings of data

Evaluator = Callable[[Mapping[str, Any]], Any]
Segment = str | int


# --------------------------------------------------------------------------- the result


@dataclass(frozen=True, slots=True)
class Condition:
    """A compiled condition: ``evaluate(context)`` says whether it holds for the context,
    a mapping of the root names (``event``, ``payload``, ``customer``) to plain data.

    ``paths`` holds every data path the condition reads, such as ``"payload.amount"``.
    Build one with :func:`compile_condition`; two conditions are equal when their sources
    and paths are."""

    source: str
    paths: frozenset[str]
    _evaluator: Evaluator = field(repr=False, compare=False)
    _names: tuple[str, ...] = field(repr=False, compare=False)

    def evaluate(self, context: Mapping[str, Any]) -> bool:
        """Whether the condition holds; never raises for reasons of the data."""
        return _truthy(self._evaluator(context))

    def __reduce__(self) -> tuple[Callable[..., Condition], tuple[str, tuple[str, ...]]]:
        # Closures do not pickle: a pickled condition is its source, compiled again.
        return _recompile, (self.source, self._names)


def _recompile(source: str, names: tuple[str, ...]) -> Condition:
    return compile_condition(source, names=names)


def referenced_paths(condition: Condition) -> frozenset[str]:
    """Every data path ``condition`` reads, e.g. ``{"payload.amount", "customer.locale"}``.

    String keys that are identifiers join with dots, other keys are written as
    ``["first name"]`` and list indexes as ``[0]``; a path read only as a step to a longer
    one (``payload`` in ``payload.amount``) is not listed on its own."""
    return condition.paths


def compile_condition(source: str, *, names: Iterable[str] = DEFAULT_NAMES) -> Condition:
    """Compile the condition ``source``; raise :class:`ExpressionError` if it is not valid.

    ``names`` are the root names a condition may read (besides ``true``, ``false`` and
    ``null``); a bad root name is a programming error (``ValueError``)."""
    roots = _check_names(names)
    compiler = _Compiler(source, roots)
    evaluator = compiler.compile()
    return Condition(source, frozenset(compiler.paths), evaluator, tuple(sorted(roots)))


def _check_names(names: Iterable[str]) -> frozenset[str]:
    if isinstance(names, str):
        raise TypeError("names must be an iterable of root names, not a single string")
    roots = frozenset(names)
    for name in roots:
        if (
            not isinstance(name, str)
            or not name.isascii()
            or not name.isidentifier()
            or keyword.iskeyword(name)
            or name.startswith("_")
            or name in _ALIASES
            or name in FUNCTIONS
        ):
            raise ValueError(f"{name!r} cannot be a root name of a condition")
    return roots


# --------------------------------------------------------------------------- compiling

_UNCOUNTED: Final = (ast.expr_context, ast.boolop, ast.operator, ast.unaryop, ast.cmpop)

_REFUSED: Final[Mapping[type[ast.AST], str]] = {
    ast.Lambda: "a lambda",
    ast.IfExp: "a conditional expression (x if c else y)",
    ast.Dict: "a dict literal",
    ast.Set: "a set literal",
    ast.ListComp: "a list comprehension",
    ast.SetComp: "a set comprehension",
    ast.DictComp: "a dict comprehension",
    ast.GeneratorExp: "a generator expression",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.YieldFrom: "yield from",
    ast.JoinedStr: "an f-string",
    ast.FormattedValue: "an f-string",
    ast.NamedExpr: "the assignment operator ':='",
    ast.Starred: "a starred expression (*x)",
    ast.Slice: "a slice (a[i:j])",
}

_REFUSED_BINARY: Final[Mapping[type[ast.operator], str]] = {
    ast.Pow: "**",
    ast.FloorDiv: "//",
    ast.MatMult: "@",
    ast.LShift: "<<",
    ast.RShift: ">>",
    ast.BitOr: "|",
    ast.BitXor: "^",
    ast.BitAnd: "&",
}


@dataclass(frozen=True, slots=True)
class _Compiled:
    """One compiled node: its evaluator; the data path it reads, if it is nothing but a
    path (``payload.items[0]``); and its value, if it is a constant."""

    evaluate: Evaluator
    path: tuple[str, tuple[Segment, ...]] | None = None
    constant: tuple[Any] | None = None


class _Compiler:
    def __init__(self, source: str, roots: frozenset[str]) -> None:
        if not isinstance(source, str):
            raise ExpressionError(f"a condition must be text, not {type(source).__name__}")
        self.source = source
        self.roots = roots
        self.paths: set[str] = set()
        # The parser refuses leading blanks ("unexpected indent"), so it reads the source
        # without them; positions are shifted back into the source as written.
        self.text = source.lstrip()
        self.shift = len(source) - len(self.text)
        self.line_starts = [0] + [m.end() for m in re.finditer(r"\r\n|\r|\n", self.text)]

    # -- errors and positions

    def fail(self, detail: str, where: ast.AST | int | None = None) -> NoReturn:
        position = self.position(where) if isinstance(where, ast.AST) else where
        raise ExpressionError(detail, source=self.source, position=position)

    def offset(self, lineno: int | None, col: int | None) -> int | None:
        """The 0-based character offset in the source of an ast (line, byte column)."""
        if lineno is None or col is None or not 1 <= lineno <= len(self.line_starts):
            return None
        start = self.line_starts[lineno - 1]
        end = self.line_starts[lineno] if lineno < len(self.line_starts) else len(self.text)
        line = self.text[start:end].encode("utf-8", "surrogatepass")
        chars = len(line[:col].decode("utf-8", "ignore"))
        return self.shift + start + chars

    def position(self, node: ast.AST) -> int | None:
        return self.offset(getattr(node, "lineno", None), getattr(node, "col_offset", None))

    def end_position(self, node: ast.AST) -> int | None:
        return self.offset(getattr(node, "end_lineno", None), getattr(node, "end_col_offset", None))

    def operator_position(self, left: ast.AST, right: ast.AST, symbol: str) -> int | None:
        """Where ``symbol`` stands between two operands (the ast does not record it)."""
        start, end = self.end_position(left), self.position(right)
        if start is None or end is None:
            return self.position(left)
        found = self.source.find(symbol, start, end)
        return found if found >= 0 else start

    def attribute_name(self, node: ast.Attribute) -> tuple[str, int | None]:
        """The attribute's name as written in the source, and where it starts."""
        end = self.end_position(node)
        if end is None:
            return node.attr, self.position(node)
        start = end
        while start > 0 and ("a" + self.source[start - 1]).isidentifier():
            start -= 1
        return self.source[start:end], start

    # -- the entry point

    def compile(self) -> Evaluator:
        source = self.source
        if len(source) > MAX_SOURCE_LENGTH:
            self.fail(
                f"the condition is too long: {len(source)} characters "
                f"(at most {MAX_SOURCE_LENGTH})"
            )
        if not self.text.strip():
            self.fail("the condition is empty", 0)
        try:
            tree = ast.parse(self.text, mode="eval")
        except SyntaxError as error:
            self.fail(f"not a valid expression: {error.msg}", self.syntax_error_position(error))
        except (ValueError, RecursionError, MemoryError) as error:  # e.g. NUL characters
            position = source.find("\0")
            self.fail(f"not a valid expression: {error}", position if position >= 0 else None)
        self.check_size(tree.body)
        compiled = self.value(tree.body)
        return compiled.evaluate

    def syntax_error_position(self, error: SyntaxError) -> int | None:
        if "\0" in self.source:
            return self.source.find("\0")
        if error.lineno is None or not 1 <= error.lineno <= len(self.line_starts):
            return None
        lineno = error.lineno
        start = self.line_starts[lineno - 1]
        end = self.line_starts[lineno] if lineno < len(self.line_starts) else len(self.text)
        line = self.text[start:end].rstrip("\r\n")
        # SyntaxError.offset counts characters from 1; 0 or None means the end of the line.
        column = error.offset - 1 if error.offset and error.offset > 0 else len(line)
        return self.shift + start + min(column, len(line))

    def check_size(self, root: ast.expr) -> None:
        count = sum(1 for node in ast.walk(root) if not isinstance(node, _UNCOUNTED))
        if count > MAX_NODES:
            self.fail(f"the condition is too complex: {count} parts (at most {MAX_NODES})")
        stack: list[tuple[ast.AST, int]] = [(root, 1)]
        while stack:
            node, depth = stack.pop()
            if depth > MAX_DEPTH:
                self.fail(f"the condition is nested too deeply (at most {MAX_DEPTH} levels)", node)
            stack.extend(
                (child, depth + 1)
                for child in ast.iter_child_nodes(node)
                if not isinstance(child, _UNCOUNTED)
            )

    # -- nodes

    def value(self, node: ast.expr) -> _Compiled:
        """Compile a node whose value is used as a whole, recording the path it reads."""
        compiled = self.node(node)
        if compiled.path is not None:
            self.paths.add(_format_path(*compiled.path))
        return compiled

    def node(self, node: ast.expr) -> _Compiled:
        match node:
            case ast.Constant():
                return self.constant(node)
            case ast.Name():
                return self.name(node)
            case ast.Attribute():
                return self.attribute(node)
            case ast.Subscript():
                return self.subscript(node)
            case ast.BoolOp():
                return self.boolean(node)
            case ast.UnaryOp():
                return self.unary(node)
            case ast.Compare():
                return self.compare(node)
            case ast.BinOp():
                return self.binary(node)
            case ast.Call():
                return self.call(node)
            case ast.List() | ast.Tuple():
                return self.sequence(node.elts)
        what = _REFUSED.get(type(node), f"the construct {type(node).__name__!r}")
        self.fail(f"{what} is not allowed in a condition", node)

    def constant(self, node: ast.Constant) -> _Compiled:
        value = node.value
        if isinstance(value, bytes):
            self.fail("a bytes literal (b'...') is not allowed in a condition", node)
        if isinstance(value, complex):
            self.fail("a complex number is not allowed in a condition", node)
        if value is Ellipsis:
            self.fail("'...' is not allowed in a condition", node)
        too_large = isinstance(value, int) and not isinstance(value, bool) and (
            abs(value) > MAX_NUMBER
        )
        if too_large or (
            isinstance(value, float) and (not math.isfinite(value) or abs(value) > MAX_NUMBER)
        ):
            self.fail("number too large: numbers are limited to 10**15 in magnitude", node)
        return _constant(value)

    def name(self, node: ast.Name) -> _Compiled:
        name = node.id
        if name in _ALIASES:
            return _constant(_ALIASES[name])
        if name in self.roots:
            return _path(name, ())
        if name in FUNCTIONS:
            self.fail(f"{name!r} is a function: call it as {name}(...)", node)
        known = ", ".join(sorted(self.roots)) or "none"
        self.fail(f"unknown name {name!r} (known: {known})", node)

    def attribute(self, node: ast.Attribute) -> _Compiled:
        inner = self.node(node.value)
        written, position = self.attribute_name(node)
        if node.attr.startswith("_"):
            self.fail(f"names starting with '_' are not allowed: {written!r}", position)
        if written != node.attr:
            self.fail(
                f"the name {written!r} reads as {node.attr!r} after Unicode normalization: "
                f"write [{json.dumps(written, ensure_ascii=False)}] instead",
                position,
            )
        return _lookup_of(inner, node.attr)

    def subscript(self, node: ast.Subscript) -> _Compiled:
        inner = self.node(node.value)
        key = self.key(node.slice)
        return _lookup_of(inner, key)

    def key(self, node: ast.expr) -> Segment:
        if isinstance(node, ast.Slice):
            self.fail("a slice (a[i:j]) is not allowed in a condition", node)
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        number, negative = node, False
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            number, negative = node.operand, True  # payload.items[-1]
        if (
            isinstance(number, ast.Constant)
            and isinstance(number.value, int)
            and not isinstance(number.value, bool)
        ):
            self.constant(number)  # the size limit
            return -number.value if negative else number.value
        self.fail(
            'a subscript must be a constant key or integer index, like payload["key"] '
            "or payload.items[0]",
            node,
        )

    def boolean(self, node: ast.BoolOp) -> _Compiled:
        operands = tuple(self.value(value).evaluate for value in node.values)
        return _Compiled(_all(operands) if isinstance(node.op, ast.And) else _any(operands))

    def unary(self, node: ast.UnaryOp) -> _Compiled:
        if isinstance(node.op, ast.Not):
            operand = self.value(node.operand).evaluate
            return _Compiled(lambda context: not _truthy(operand(context)))
        if isinstance(node.op, ast.USub):
            compiled = self.value(node.operand)
            if compiled.constant is not None and _is_number(compiled.constant[0]):
                return _constant(-compiled.constant[0])
            inner = compiled.evaluate
            return _Compiled(lambda context: _negate(inner(context)))
        symbol = "+" if isinstance(node.op, ast.UAdd) else "~"
        self.fail(f"the unary operator '{symbol}' is not allowed in a condition", node)

    def compare(self, node: ast.Compare) -> _Compiled:
        left: ast.expr = node.left
        tests: list[Callable[[Any, Any], bool]] = []
        for op, right in zip(node.ops, node.comparators, strict=True):
            test = _COMPARISONS.get(type(op))
            if test is None:
                symbol = "is not" if isinstance(op, ast.IsNot) else "is"
                self.fail(
                    f"'{symbol}' is not allowed: compare with == or != (e.g. x == null)",
                    self.operator_position(left, right, "is"),
                )
            tests.append(test)
            left = right
        operands = [self.value(node.left).evaluate]
        operands += [self.value(comparator).evaluate for comparator in node.comparators]
        if len(tests) == 1:
            return _Compiled(_compare_one(tests[0], operands[0], operands[1]))
        return _Compiled(_compare_chain(tuple(tests), tuple(operands)))

    def binary(self, node: ast.BinOp) -> _Compiled:
        symbol = _REFUSED_BINARY.get(type(node.op))
        if symbol is not None:
            self.fail(
                f"the operator '{symbol}' is not allowed (arithmetic is limited to + - * / %)",
                self.operator_position(node.left, node.right, symbol),
            )
        python_op, decimal_op, divides = _ARITHMETIC[type(node.op)]
        left = self.value(node.left).evaluate
        right = self.value(node.right).evaluate
        return _Compiled(
            lambda context: _arithmetic(
                python_op, decimal_op, divides, left(context), right(context)
            )
        )

    def call(self, node: ast.Call) -> _Compiled:
        function = node.func
        if isinstance(function, ast.Attribute):
            written, position = self.attribute_name(function)
            hint = (
                f"write {written}(x) instead of x.{written}()"
                if written in FUNCTIONS
                else f"the functions are {_FUNCTION_LIST}"
            )
            self.fail(f"method calls are not allowed: '.{written}()' ({hint})", position)
        if not isinstance(function, ast.Name):
            self.fail(f"only the functions {_FUNCTION_LIST} can be called", node)
        name = function.id
        if name not in FUNCTIONS:
            self.fail(f"calls are limited to {_FUNCTION_LIST}: {name!r} is not one", function)
        for argument in node.keywords:
            if argument.arg is None:
                self.fail("'**' arguments are not allowed in a condition", argument)
            self.fail(f"{name}() takes no keyword arguments ({argument.arg}=...)", argument)
        for positional in node.args:
            if isinstance(positional, ast.Starred):
                self.fail("a starred argument (*x) is not allowed in a condition", positional)
        if len(node.args) != 1:
            self.fail(f"{name}() takes exactly one argument ({len(node.args)} given)", node)
        implementation = _FUNCTION_IMPLEMENTATIONS[name]
        argument_value = self.value(node.args[0]).evaluate
        return _Compiled(lambda context: implementation(argument_value(context)))

    def sequence(self, elements: list[ast.expr]) -> _Compiled:
        items = [self.value(element) for element in elements]
        constants = [item.constant for item in items]
        if all(constant is not None for constant in constants):
            return _constant(tuple(constant[0] for constant in constants if constant))
        evaluators = tuple(item.evaluate for item in items)
        return _Compiled(lambda context: tuple(item(context) for item in evaluators))


# --------------------------------------------------------------------------- closures


def _constant(value: Any) -> _Compiled:
    return _Compiled(lambda context: value, constant=(value,))


def _path(root: str, segments: tuple[Segment, ...]) -> _Compiled:
    if not segments:
        return _Compiled(lambda context: _lookup(context, root), path=(root, segments))

    def walk(context: Mapping[str, Any]) -> Any:
        value = _lookup(context, root)
        for segment in segments:
            if value is None:
                return None
            value = _lookup(value, segment)
        return value

    return _Compiled(walk, path=(root, segments))


def _lookup_of(inner: _Compiled, key: Segment) -> _Compiled:
    if inner.path is not None:
        root, segments = inner.path
        return _path(root, (*segments, key))
    value = inner.evaluate
    return _Compiled(lambda context: _lookup(value(context), key))


def _all(operands: tuple[Evaluator, ...]) -> Evaluator:
    def evaluate(context: Mapping[str, Any]) -> Any:
        value: Any = None
        for operand in operands:
            value = operand(context)
            if not _truthy(value):
                return value
        return value

    return evaluate


def _any(operands: tuple[Evaluator, ...]) -> Evaluator:
    def evaluate(context: Mapping[str, Any]) -> Any:
        value: Any = None
        for operand in operands:
            value = operand(context)
            if _truthy(value):
                return value
        return value

    return evaluate


def _compare_one(
    test: Callable[[Any, Any], bool], left: Evaluator, right: Evaluator
) -> Evaluator:
    return lambda context: test(left(context), right(context))


def _compare_chain(
    tests: tuple[Callable[[Any, Any], bool], ...], operands: tuple[Evaluator, ...]
) -> Evaluator:
    def evaluate(context: Mapping[str, Any]) -> bool:
        left = operands[0](context)
        for test, operand in zip(tests, operands[1:], strict=True):
            right = operand(context)
            if not test(left, right):
                return False
            left = right
        return True

    return evaluate


def _format_path(root: str, segments: tuple[Segment, ...]) -> str:
    parts = [root]
    for segment in segments:
        if isinstance(segment, int):
            parts.append(f"[{segment}]")
        elif segment.isascii() and segment.isidentifier():
            parts.append(f".{segment}")
        else:
            parts.append(f"[{json.dumps(segment, ensure_ascii=False)}]")
    return "".join(parts)


# --------------------------------------------------------------------------- values

# Decimal arithmetic and comparison without traps: overflow, NaN or an impossible
# operation gives a NaN or an infinity (turned into None), never an exception.
_DECIMAL: Final = Context(
    prec=28, rounding=ROUND_HALF_EVEN, Emin=-999999, Emax=999999, traps=[], flags=[]
)
_DECIMAL_MAX: Final = Decimal(MAX_NUMBER)
_NUMBER_TEXT: Final = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,4})?")
_INTEGER_TEXT: Final = re.compile(r"[+-]?[0-9]+")
_SIZED: Final = (str, list, tuple, dict, set, frozenset, Mapping)


def _lookup(value: Any, key: Segment) -> Any:
    """``value[key]`` for a mapping, or for a list and an integer index; else None."""
    if type(value) is dict:
        return value.get(key)
    if isinstance(value, Mapping):
        try:
            return value[key]
        except LookupError:
            return None
    if isinstance(key, int) and isinstance(value, list | tuple) and -len(value) <= key < len(value):
        return value[key]
    return None


def _truthy(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, Decimal):
        return not value.is_zero()
    if isinstance(value, int | float):
        return value != 0
    if isinstance(value, _SIZED):
        return len(value) > 0
    return True


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def _decimal(value: int | float | Decimal) -> Decimal:
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    return Decimal(value)


def _bounded(value: int | float | Decimal) -> int | float | Decimal | None:
    """The number, or None when it is not finite or beyond ``MAX_NUMBER`` in magnitude."""
    if isinstance(value, Decimal):
        return value if value.is_finite() and value.copy_abs() <= _DECIMAL_MAX else None
    if isinstance(value, float):
        return value if math.isfinite(value) and abs(value) <= MAX_NUMBER else None
    return value if -MAX_NUMBER <= value <= MAX_NUMBER else None


def _compare_numbers(left: Any, right: Any) -> int | None:
    """-1, 0 or 1 for two numbers; None when they are unordered (a NaN)."""
    if isinstance(left, Decimal) or isinstance(right, Decimal):
        result = _DECIMAL.compare(_decimal(left), _decimal(right))
        return None if result.is_nan() else int(result)
    if left < right:
        return -1
    if left > right:
        return 1
    return 0 if left == right else None


def _order(left: Any, right: Any) -> int | None:
    if _is_number(left) and _is_number(right):
        return _compare_numbers(left, right)
    if isinstance(left, str) and isinstance(right, str):
        return -1 if left < right else 1 if left > right else 0
    return None


def _equal(left: Any, right: Any, depth: int = 0) -> bool:
    if isinstance(left, str) or isinstance(right, str):
        return isinstance(left, str) and isinstance(right, str) and left == right
    if _is_number(left) or _is_number(right):
        return _is_number(left) and _is_number(right) and _compare_numbers(left, right) == 0
    if left is None or right is None or isinstance(left, bool) or isinstance(right, bool):
        return left is right
    if isinstance(left, list | tuple) or isinstance(right, list | tuple):
        return (
            isinstance(left, list | tuple)
            and isinstance(right, list | tuple)
            and len(left) == len(right)
            and depth < _MAX_DATA_DEPTH
            and all(_equal(a, b, depth + 1) for a, b in zip(left, right, strict=True))
        )
    if isinstance(left, Mapping) or isinstance(right, Mapping):
        return (
            isinstance(left, Mapping)
            and isinstance(right, Mapping)
            and len(left) == len(right)
            and depth < _MAX_DATA_DEPTH
            and all(k in right and _equal(v, right[k], depth + 1) for k, v in left.items())
        )
    return type(left) is type(right) and (left == right) is True  # dates and the like


def _not_equal(left: Any, right: Any) -> bool:
    return not _equal(left, right)


def _less(left: Any, right: Any) -> bool:
    order = _order(left, right)
    return order is not None and order < 0


def _less_or_equal(left: Any, right: Any) -> bool:
    order = _order(left, right)
    return order is not None and order <= 0


def _greater(left: Any, right: Any) -> bool:
    order = _order(left, right)
    return order is not None and order > 0


def _greater_or_equal(left: Any, right: Any) -> bool:
    order = _order(left, right)
    return order is not None and order >= 0


def _contains(needle: Any, container: Any) -> bool:
    if isinstance(container, str):
        return isinstance(needle, str) and needle in container
    if isinstance(container, list | tuple | set | frozenset):
        return any(_equal(needle, item) for item in container)
    if isinstance(container, Mapping):
        is_key = isinstance(needle, str | int) and not isinstance(needle, bool)
        return is_key and needle in container
    return False


def _not_contains(needle: Any, container: Any) -> bool:
    return not _contains(needle, container)


_COMPARISONS: Final[Mapping[type[ast.cmpop], Callable[[Any, Any], bool]]] = {
    ast.Eq: _equal,
    ast.NotEq: _not_equal,
    ast.Lt: _less,
    ast.LtE: _less_or_equal,
    ast.Gt: _greater,
    ast.GtE: _greater_or_equal,
    ast.In: _contains,
    ast.NotIn: _not_contains,
}

_PythonOp = Callable[[Any, Any], Any]
_DecimalOp = Callable[[Decimal, Decimal], Decimal]

_ARITHMETIC: Final[Mapping[type[ast.operator], tuple[_PythonOp, _DecimalOp, bool]]] = {
    ast.Add: (operator.add, _DECIMAL.add, False),
    ast.Sub: (operator.sub, _DECIMAL.subtract, False),
    ast.Mult: (operator.mul, _DECIMAL.multiply, False),
    ast.Div: (operator.truediv, _DECIMAL.divide, True),
    ast.Mod: (operator.mod, _DECIMAL.remainder, True),
}


def _arithmetic(
    python_op: _PythonOp, decimal_op: _DecimalOp, divides: bool, left: Any, right: Any
) -> Any:
    if not (_is_number(left) and _is_number(right)):
        return None
    if isinstance(left, Decimal) or isinstance(right, Decimal):
        divisor = _decimal(right)
        if divides and divisor.is_zero():
            return None
        return _bounded(decimal_op(_decimal(left), divisor))
    if divides and right == 0:
        return None
    try:
        result = python_op(left, right)
    except ArithmeticError:  # an int too large for a float
        return None
    return _bounded(result)


def _negate(value: Any) -> Any:
    if not _is_number(value):
        return None
    return _bounded(value.copy_negate() if isinstance(value, Decimal) else -value)


def _len(value: Any) -> int | None:
    return len(value) if isinstance(value, _SIZED) else None


def _lower(value: Any) -> str | None:
    return str.lower(value) if isinstance(value, str) else None


def _upper(value: Any) -> str | None:
    return str.upper(value) if isinstance(value, str) else None


def _exists(value: Any) -> bool:
    return value is not None


def _number(value: Any) -> int | float | Decimal | None:
    """A number as itself, a string holding a number as an int or an exact Decimal."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float | Decimal):
        return _bounded(value)
    if not isinstance(value, str):
        return None
    text = str.strip(value)
    if len(text) > 64 or not _NUMBER_TEXT.fullmatch(text):
        return None
    return _bounded(int(text) if _INTEGER_TEXT.fullmatch(text) else Decimal(text))


_FUNCTION_IMPLEMENTATIONS: Final[Mapping[str, Callable[[Any], Any]]] = {
    "len": _len,
    "lower": _lower,
    "upper": _upper,
    "exists": _exists,
    "number": _number,
}
