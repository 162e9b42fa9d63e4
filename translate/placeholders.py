"""Placeholders in software messages: the project's single definition.

A placeholder is a piece of a message that the program fills in or
interprets at run time, so a translation must carry it over unchanged:
printf conversions (`%s`, `%5.2f`, `%1$s`), Python's named conversions
(`%(name)s`), `str.format` fields (`{0}`, `{name}`, `{0:>5}`, `{}`) and a
few markers found in gettext catalogs (`${var}`, `$var`, `%{name}`,
`@NAME@`). The tokenizer keeps each one an atomic piece; evaluation checks
that a translation has the same ones as its source.

Forms and the evidence for them: the msgids of the German catalogs of a
Debian system (/usr/share/locale/de/LC_MESSAGES, 85 readable .mo files,
71,947 entries), counted with this pattern:

* printf, C and Python: `%` [position `N$`] [flags `-+#0'I`] [width `N`,
  `*` or `*N$`] [precision `.N`, `.*`] [length `hh h l ll L q j z Z t`]
  conversion `d i o u x X e E f F g G a A c C s S p n m`, and Python's `r`
  (`%r`, common in Python projects' catalogs): 22,424, `%s`
  alone 16,668. The space flag is left out on purpose: "100% done" and
  "50% off" are prose, not `% d` and `% o`; allowing it would add 28
  matches to the msgids, all prose ("ARG1 % ARG2", "93% of width").
  `%I64u` (make) parses as flag `I` and width 64. Python's named form
  `%(name)s` (17, python-apt) also takes the conversions `r` and `a`.
* `%%`, an escaped percent (139). It is a placeholder of its own: a
  translation of a format string must write `%%` too (112 of the 116
  translated msgids with `%%` keep the count), and consuming it is what
  stops `%%10f` or gnupg's `%%0A` from yielding bogus `%10f` / `%0A`.
* `{...}` fields of `str.format` and .NET: empty, a number, or an
  identifier with `.attr`/`[key]` parts, an optional `!r`/`!s`/`!a` and
  an optional standard format spec (`:>5`, `:.2f`, `:,`). C catalogs
  barely use them (11 matches, such as find's literal `{}`); the grammar
  keeps out usage syntax such as `{heads,tags}` or `{auto|manual}`, and
  `{{`...`}}` (escaped braces) is not a field.
* `${name}` (shell, templates, dpkg substvars `${binary:Version}`): 2.
* `$name` (shell; git's eval_gettext messages fill `$var` at run time, and
  environment variables such as `$PATH` must stay untranslated): 73.
  Only a letter or `_` may follow `$`, so prices ("$5") and shell
  positional parameters (`$1`) stay text.
* `@NAME@` upper case, expanded at run time by gnupg (`@GPG@`): 19.
* `%{name}` (Ruby gettext, Rails i18n): none in these catalogs, but it is
  the named placeholder of Ruby catalogs and is never prose.

With these forms, 14,633 of the 14,686 translated entries whose msgid has
a placeholder have the same placeholders in msgid and msgstr; most of the
rest are real differences (plural forms written as "ein Byte", `%02x`
against `%02X`, positional `%2$s` in the translation).

Ambiguous cases are taken as placeholders: "50%sale" holds `%s` and glib's
"Invalid %-encoding" holds `%-e`; `{INTEGER}` in usage text is a field.

Left out: strftime directives (`%H:%M`, translators reorder and change them
on purpose), Qt's `%1` (none here; `%02` prefixes are printf widths) and
markup or usage syntax in angle brackets (`<file>` is translated, e.g. git's
`<Datei>`).
"""

import collections
import re

# Written without look-around or Unicode classes, so that RE2 (the exported
# graph's regex engine, `translate.spans`) reads it as Python's `re` does.
_PRINTF = (
    r"%"
    r"(?:[1-9][0-9]*\$)?"                       # argument position, %2$s
    r"[-+#0'I]*"                                # flags (no space: "100% done")
    r"(?:[0-9]+|\*(?:[1-9][0-9]*\$)?)?"          # width
    r"(?:\.(?:[0-9]+|\*(?:[1-9][0-9]*\$)?)?)?"    # precision
    r"(?:hh|h|ll|l|L|q|j|z|Z|t)?"               # length modifier
    r"[diouxXeEfFgGaAcCsSpnmr]")                # conversion (r: Python's repr)

_PYTHON_NAMED = (
    r"%\([A-Za-z_][A-Za-z0-9_]*\)"              # %(name)
    r"[-+#0]*[0-9]*(?:\.[0-9]+)?[hlL]?"         # flags, width, precision, length
    r"[diouxXeEfFgGcrsa]")

_BRACE_FIELD = (
    r"\{"
    r"(?:[0-9]+|[A-Za-z_][A-Za-z0-9_]*"
    r"(?:\.[A-Za-z_][A-Za-z0-9_]*|\[[A-Za-z0-9_]+\])*)?"
    r"(?:![rsa])?"
    r"(?::(?:[^{}\t\n\r\f\v ]?[<>=^])?[-+]?z?#?0?[0-9]*[_,]?(?:\.[0-9]+)?[bcdeEfFgGnosxX%]?)?"
    r"\}")

# `{{` and `}}` are escaped braces, not fields: matched (so that `{{0}}` holds
# no field `{0}`) and then left out by `find_placeholders`.
_ESCAPED_BRACES = ("{{", "}}")

PLACEHOLDER_SOURCE = "|".join([
    r"%%",                                     # escaped percent
    r"%\{[A-Za-z_][A-Za-z0-9_]*\}",            # Ruby %{name}
    _PYTHON_NAMED,
    _PRINTF,
    r"\{\{|\}\}",                               # escaped braces (not placeholders)
    _BRACE_FIELD,
    r"\$\{[A-Za-z_][A-Za-z0-9_.:-]*\}",        # ${var}, ${binary:Version}
    r"\$[A-Za-z_][A-Za-z0-9_]*",               # $var
    r"@[A-Z][A-Z0-9_]*@",                      # @NAME@
])
"""The placeholder forms as one regex string (also read by RE2)."""

PLACEHOLDER_PATTERN = re.compile(PLACEHOLDER_SOURCE)
"""The placeholder regex; `find_placeholders` is the usual way to apply it."""


def find_placeholders(text):
    """Lists the placeholders of a message, in the order they occur.

    Matches do not overlap and are taken left to right, so `%%s` is `%%`
    (an escaped percent followed by the letter s) and `%1$s` is one
    placeholder, not `$s`.

    Args:
        text: the message, a `str`.

    Returns:
        A list of the placeholder strings, e.g. `["%1$s", "{count}"]`.

    Raises:
        TypeError: `text` is not a string.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}.")
    return [m for m in PLACEHOLDER_PATTERN.findall(text) if m not in _ESCAPED_BRACES]


def same_placeholders(a, b):
    """Tells whether two messages hold the same placeholders.

    Order does not matter (translations reorder), counts do: the comparison
    is of multisets. Positional forms are compared as written, so `%s %d`
    and `%2$d %1$s` differ.

    Args:
        a: a message, e.g. the source.
        b: another message, e.g. its translation.

    Returns:
        True when both contain each placeholder the same number of times.

    Raises:
        TypeError: `a` or `b` is not a string.
    """
    return (collections.Counter(find_placeholders(a))
            == collections.Counter(find_placeholders(b)))


def placeholder_inventory(texts, min_count=1):
    """Lists the distinct placeholders of a collection of messages.

    Args:
        texts: an iterable of messages (`str`).
        min_count: keep only placeholders seen at least this many times.

    Returns:
        The distinct placeholders, most frequent first; ties keep the order
        in which they were first seen.

    Raises:
        TypeError: an element of `texts` is not a string.
        ValueError: `min_count` is less than 1.
    """
    if min_count < 1:
        raise ValueError(f"min_count must be at least 1, got {min_count}.")
    counts = collections.Counter()
    for text in texts:
        counts.update(find_placeholders(text))
    return [p for p, n in counts.most_common() if n >= min_count]
