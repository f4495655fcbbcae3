"""Translations for ``{% trans %}`` blocks, looked up along a locale fallback chain.

A template version carries its catalogs as ``{locale: {msgid: msgstr | [plural forms]}}``.
``de_AT`` looks in ``de_AT``, then ``de``, and falls back to the template's own text.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from functools import lru_cache
from gettext import c2py
from typing import Any

from babel import Locale
from babel.messages.plurals import get_plural
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup

from ccm.brand.tokens import locale_chain
from ccm.rendering.budget import active_budget, check_percent_format, text_size

#: A width, precision or ``*`` might be in a format (or a key holds a digit).
_MAYBE_WIDTH = re.compile(r"[\d*]")


def _check_format(text: str, variables: Mapping[str, Any]) -> None:
    """Refuse, before it is built, a translation that ``% variables`` would make too big
    (``_('%(a)s' * 3000, a=long_text)``): as ``fmt % args`` in a template is checked.
    Without widths a field adds at most its value, which is cheap to bound."""
    budget = active_budget()
    if _MAYBE_WIDTH.search(text) is None:
        cap = budget.max_value_chars
        largest = max((len(value) + 2 if type(value) is str else text_size(value, cap)
                       for value in variables.values()), default=0)
        if len(text) + text.count("%") * largest <= cap:
            return
    check_percent_format(text, variables, budget)


def _catalog_chain(
    translations: Mapping[str, Mapping[str, Any]], locale: str
) -> list[Mapping[str, Any]]:
    return [translations[c] for c in locale_chain(locale) if c in translations]


@lru_cache(maxsize=256)
def _plural_index(locale: str) -> Callable[[int], int]:
    # gettext's own plural expression for the language, e.g. "(n != 1)" -> form index.
    return c2py(get_plural(Locale.parse(locale)).plural_expr)


def gettext_functions(
    translations: Mapping[str, Mapping[str, Any]], locale: str
) -> dict[str, Callable[..., Any]]:
    """``gettext``/``ngettext``/``_`` for one render, in Jinja's new-style calling."""
    chain = _catalog_chain(translations, locale)
    plural_index = _plural_index(locale)

    def lookup(msgid: str) -> Any:
        for catalog in chain:
            found = catalog.get(msgid)
            if found:
                return found
        return None

    def translate(msgid: str) -> str:
        found = lookup(msgid)
        if isinstance(found, str):
            return found
        if isinstance(found, list | tuple) and found and found[0]:
            return str(found[0])
        return msgid

    def translate_plural(singular: str, plural: str, n: int) -> str:
        found = lookup(singular)
        if isinstance(found, list | tuple) and found:
            # Counts from JSON data are Decimals; gettext's plural rules want an int.
            index = min(int(plural_index(int(n))), len(found) - 1)
            if found[index]:
                return str(found[index])
        return singular if n == 1 else plural

    # A message without variables always comes out the same: for the msgids the catalogs
    # hold (so the cache is as big as the catalogs at most, whatever the data), it is
    # worked out once per (msgid, escaping).
    catalogued = frozenset(msgid for catalog in chain for msgid in catalog)
    settled: dict[tuple[str, bool], str] = {}

    @pass_context
    def gettext(__context: Context, __string: str, **variables: Any) -> str:
        escaping = bool(__context.eval_ctx.autoescape)
        if not variables and type(__string) is str:
            done = settled.get((__string, escaping))
            if done is not None:
                return done
        text = translate(__string)
        if variables:
            _check_format(text, variables)
        if escaping:
            text = Markup(text)
        result = text % variables  # new-style msgids escape a literal % as %%
        if not variables and type(__string) is str and __string in catalogued:
            settled[(__string, escaping)] = result
        return result

    @pass_context
    def ngettext(__context: Context, __singular: str, __plural: str, __num: int,
                 **variables: Any) -> str:
        variables.setdefault("num", __num)
        text = translate_plural(__singular, __plural, __num)
        _check_format(text, variables)
        if __context.eval_ctx.autoescape:
            text = Markup(text)
        return text % variables

    return {"gettext": gettext, "ngettext": ngettext, "_": gettext}
