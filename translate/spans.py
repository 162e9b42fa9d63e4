"""Protected spans: the parts of a message a translation must carry over unchanged.

One definition (`SPAN_PATTERN`) serves the Python path (this module) and the
exported graph (`translate.masking`, the same regular expression run by
RE2), so it is written in the syntax both engines read alike: no
look-around, no back-references, no Unicode classes, ASCII `[...]` sets
spelled out. Both take the leftmost match and, at one position, the first
alternative that matches, so they find the same spans.

The spans, in the order they are tried at one position:

* a sentinel-shaped text already in the message (`｟3｠`), so that it can never
  be confused with the sentinels masking makes;
* whitespace that is not a single space: a line break, a tab, two or more
  spaces (`newlines`, `tabs` and `doublespacing` of the localisation checks);
  leading and trailing whitespace is split off before (`Masked.lead`,
  `Masked.trail`) and put back exactly;
* markup: an HTML/XML comment; a start, end or empty tag of an HTML or Pango
  element (`<b>`, `</a>`, `<br/>`, `<span foreground="red">`) with its
  attributes; a tag of any other name when it has an attribute with a
  value (`<guilabel id="x">`), is an empty-element tag (`<gui/>`) or an end
  tag (`</gui>`). A bare `<file>` is text: usage syntax such as git's
  `<file>` is translated (git's German catalog writes `<Datei>`), and never
  has an end tag. Malformed markup (an
  unclosed `<a href="x"`) matches nothing and stays text; tags are not
  paired, so an unbalanced known tag is still kept as it is;
* a character entity (`&amp;`, `&#160;`, `&#xA0;`);
* a URL (`https://...`, `ftp://`, `file:///`, `mailto:...`, `www.`), its
  trailing punctuation left out; an e-mail address;
* template fields `{{ name }}`, `{% tag %}`, and escaped braces `{{` / `}}`;
* every placeholder of `translate.placeholders` (printf, `%(name)s`, `%%`,
  brace fields, `${var}`, `$var`, `%{name}`, `@NAME@`).

Masking (`mask`) replaces the first `MAX_SPANS` spans of a message by the
sentinels `｟1｠`, `｟2｠`, ... in order (reserved SentencePiece symbols, see
`translate.tokenizer`); spans after those stay text. `unmask` puts each span
back by its index, so reordered placeholders come back right, and tells
whether every sentinel came back exactly once (`Unmasked.ok`). Training
pairs are masked with `mask_pair`: a target span equal to a source span gets
that span's sentinel.

Keyboard accelerators (`_File`, `&File`, `~File`) are no spans here: which
character marks them is a catalog's convention, not visible in a message,
and is handled where it is known (`translate po --accelerator`).
"""

import collections
import dataclasses
import re

from translate import placeholders

SENTINEL_OPEN, SENTINEL_CLOSE = "\uff5f", "\uff60"  # ｟ ｠ (OpenNMT's placeholder marks)
MAX_SPANS = 32
"""Spans masked per message; later ones stay text."""

SENTINELS = tuple(f"{SENTINEL_OPEN}{i}{SENTINEL_CLOSE}" for i in range(1, MAX_SPANS + 1))
"""The sentinel symbols, `｟1｠` to `｟32｠`: the n-th span of a message is `SENTINELS[n - 1]`."""

SENTINEL_PATTERN = SENTINEL_OPEN + "([0-9]{1,4})" + SENTINEL_CLOSE

WHITESPACE = "\t\n\r\f\v "
"""The whitespace of spans, message ends and the localisation checks (RE2's `\\s` and `\\v`)."""

_WS = "[\\t\\n\\r\\f\\v ]"
_NAME = "[A-Za-z_:][-A-Za-z0-9_:.]*"
_VALUE = "(?:\"[^\"]*\"|'[^']*'|[^\\t\\n\\r\\f\\v \"'=<>`]+)"
_ATTRIBUTE = f"{_NAME}(?:{_WS}*={_WS}*{_VALUE})?"
_ATTRIBUTE_WITH_VALUE = f"{_NAME}{_WS}*={_WS}*{_VALUE}"
_ATTRIBUTES = f"(?:{_WS}+{_ATTRIBUTE})*"

HTML_ELEMENTS = (
    "a abbr acronym address area article aside audio b bdi bdo big blockquote body br button "
    "caption center cite code col colgroup dd del details dfn div dl dt em embed fieldset "
    "figcaption figure font footer form h1 h2 h3 h4 h5 h6 head header hr html i iframe img "
    "input ins kbd label legend li link main mark meta nav noscript ol optgroup option p param "
    "pre q s samp script section select small source span strike strong style sub summary sup "
    "table tbody td textarea tfoot th thead time title tr tt u ul var video wbr").split()
"""Element names whose tags are always markup (HTML's, with Pango's `b i s u tt big small
span sub sup`); other names only with attributes (see the module docstring)."""

_KNOWN = "(?i:" + "|".join(sorted(HTML_ELEMENTS, key=len, reverse=True)) + ")"

_MARKUP = "|".join([
    "<!--(?:[^-]|-[^-])*-->",                                                 # comment
    f"</?{_KNOWN}{_ATTRIBUTES}{_WS}*/?>",                                     # known element
    f"<[A-Za-z]{_NAME}?{_ATTRIBUTES}{_WS}+{_ATTRIBUTE_WITH_VALUE}{_ATTRIBUTES}{_WS}*/?>",
    f"<[A-Za-z]{_NAME}?{_ATTRIBUTES}{_WS}*/>",                                # empty element
    f"</[A-Za-z]{_NAME}?{_WS}*>",                                             # end tag
])

_URL_END = "[^\\t\\n\\r\\f\\v <>\"'.,;:!?)\\]}]"
_URL_BODY = "[^\\t\\n\\r\\f\\v <>\"']"

SPAN_PATTERN_SOURCE = "|".join([
    SENTINEL_OPEN + "[0-9]+" + SENTINEL_CLOSE,
    f"{_WS}{{2,}}|[\\t\\n\\r\\f\\v]",
    _MARKUP,
    "&(?:[A-Za-z][A-Za-z0-9]*|#[0-9]+|#[xX][0-9A-Fa-f]+);",
    f"(?:(?:[A-Za-z][A-Za-z0-9+.-]*://|mailto:|www\\.){_URL_BODY}*{_URL_END})",
    "[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\\.[A-Za-z0-9-]+)+",
    "\\{\\{ *[A-Za-z_][A-Za-z0-9_.|: ]*\\}\\}|\\{%[^{}%]*%\\}",
    placeholders.PLACEHOLDER_SOURCE,
])
"""The pattern as a string: what `translate.masking` hands to RE2."""

SPAN_PATTERN = re.compile(SPAN_PATTERN_SOURCE)

_SENTINEL = re.compile(SENTINEL_PATTERN)

# The export's input cleanup, for the Python path: control characters and
# Unicode separators become one space (RE2's [\p{Cc}\p{Z}]+ there).
# (Unicode's Cc and Z, listed: computing them costs a pass over every code point.)
_CLEANUP = re.compile("[\x00-\x1f\x7f-\x9f \xa0\u1680\u2000-\u200a\u2028\u2029\u202f"
                      "\u205f\u3000]+")

CLEANUP_PATTERN = "[\\p{Cc}\\p{Z}]+"
"""The graph's spelling of the cleanup above (RE2 has Unicode classes)."""


def find_spans(text):
    """The protected spans of a message, in order (its ends' whitespace excluded).

    Args:
        text: the message.

    Returns:
        A list of strings, e.g. `["<b>", "%(name)s", "</b>", "\\n"]`.
    """
    _, core, _ = split_ends(text)
    return SPAN_PATTERN.findall(core)


def split_ends(text):
    """`(lead, core, trail)`: the message's leading and trailing whitespace and the rest."""
    core = text.strip(WHITESPACE)
    if not core:
        return text, "", ""
    start = len(text) - len(text.lstrip(WHITESPACE))
    return text[:start], core, text[start + len(core):]


def clean(text):
    """The export's cleanup of masked text: separators to single spaces, ends stripped."""
    return _CLEANUP.sub(" ", text).strip(" ")


@dataclasses.dataclass(frozen=True)
class Masked:
    """A message with its protected spans replaced by sentinels.

    Attributes:
        text: what the model sees: the core with sentinels, cleaned
            (`clean`).
        spans: the spans masked, `spans[i]` under `SENTINELS[i]`.
        lead, trail: the message's leading and trailing whitespace.
        targets: what each sentinel becomes in the translation: its span,
            or for a glossary term the term's target (default: `spans`).
        terms: the indices of the sentinels that stand for glossary terms.
    """

    text: str
    spans: tuple
    lead: str = ""
    trail: str = ""
    targets: tuple = None
    terms: tuple = ()

    def __post_init__(self):
        if self.targets is None:
            object.__setattr__(self, "targets", self.spans)


@dataclasses.dataclass(frozen=True)
class Unmasked:
    """A translation with the source's spans put back.

    Attributes:
        text: the translation, with the source's leading and trailing
            whitespace ("" when the model gave nothing).
        ok: every sentinel of the source came back exactly once and none
            other did.
        missing: the spans whose sentinel the translation lacks.
        repeated: spans whose sentinel came back more than once.
        invented: sentinels in the translation that the source did not have.
    """

    text: str
    ok: bool
    missing: tuple = ()
    repeated: tuple = ()
    invented: tuple = ()


def _sentinel_for(index):
    return SENTINELS[index]


def mask(text, max_spans=MAX_SPANS, terms=None):
    """Masks a message for the model.

    Args:
        text: the message.
        max_spans: how many spans get a sentinel (at most `MAX_SPANS`).
        terms: a `translate.glossary.Glossary` whose terms are masked too
            (each a sentinel that unmasking replaces by the term's target),
            or None. A term inside a span is part of the span.

    Returns:
        A `Masked`. A NUL character is read as a space (the graph's regex
        splitting stops at NUL, so both paths treat it alike).
    """
    lead, core, trail = split_ends(text.replace("\x00", " "))
    spans, targets, term_indices = [], [], []
    pattern = terms.pattern if terms else SPAN_PATTERN  # an empty glossary is falsy

    def replace(match):
        found = match.group()
        if len(spans) >= max_spans:
            return found
        if pattern is not SPAN_PATTERN and terms.is_term(found):
            term_indices.append(len(spans))
            targets.append(terms.target(found))
        else:
            targets.append(found)
        spans.append(found)
        return _sentinel_for(len(spans) - 1)

    masked = pattern.sub(replace, core)
    return Masked(clean(masked), tuple(spans), lead, trail, tuple(targets), tuple(term_indices))


def mask_pair(source, target, max_spans=MAX_SPANS):
    """Masks a training pair: a target span equal to a source span gets its sentinel.

    Each source span is used once, first come first served, so a message
    with `%s` twice maps the target's first `%s` to the source's first.
    Target spans without a partner stay text (the model learns to write them).

    Args:
        source, target: the pair (as the corpus stores them).
        max_spans: as for `mask`.

    Returns:
        `(masked_source, masked_target)` strings.
    """
    masked = mask(source, max_spans)
    free = {}
    for index, span in enumerate(masked.spans):
        free.setdefault(span, []).append(index)
    _, core, _ = split_ends(target.replace("\x00", " "))

    def replace(match):
        indices = free.get(match.group())
        if not indices:
            return match.group()
        return _sentinel_for(indices.pop(0))

    return masked.text, clean(SPAN_PATTERN.sub(replace, core))


def unmask(translation, masked):
    """Puts a source's spans back into the model's translation of its masked text.

    Args:
        translation: the model's output (with sentinels).
        masked: the source's `Masked`.

    Returns:
        An `Unmasked`: the text with each sentinel replaced by its target
        (the span, or a glossary term's target; an invented one removed) and
        the source's lead and trail around it. Spans are counted by their
        text: a message with `%s` twice is `ok` when the translation writes
        two sentinels of a `%s`, whichever (the text is the same). A term's
        sentinel missing or repeated does not make it not `ok`: that is the
        glossary check's to judge, on the text.
    """
    counts = [0] * len(masked.spans)
    invented = []

    def replace(match):
        index = int(match.group(1)) - 1
        if 0 <= index < len(masked.spans):
            counts[index] += 1
            return masked.targets[index]
        invented.append(match.group())
        return ""

    text = _SENTINEL.sub(replace, translation)
    written, wanted = collections.Counter(), collections.Counter()
    for index, (span, count) in enumerate(zip(masked.spans, counts)):
        if index not in masked.terms:
            written[span] += count
            wanted[span] += 1
    missing = tuple(s for s in wanted for _ in range(wanted[s] - written[s]))
    repeated = tuple(s for s in wanted if written[s] > wanted[s])
    dressed = masked.lead + text + masked.trail if text else ""
    return Unmasked(dressed, not (missing or repeated or invented), missing, repeated,
                    tuple(invented))
