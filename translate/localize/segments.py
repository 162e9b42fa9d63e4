"""A long message in parts: translated segment by segment.

The model learnt from single messages, mostly a line or a sentence long. A
help text of several sentences or paragraphs (a web application's
`<p>...</p>\\n<p>...`) comes out of it worse than its sentences one by one,
or with a span dropped: the export cuts its input at `max_source_length`
pieces (and flags every hypothesis of a message it cut: `format_ok`), and a
span past the cut cannot come back. So `translate po` splits a message at
line breaks and sentence ends (`split`, never inside a protected span of
`translate.spans`), translates the segments that hold text, and joins their
translations with the message's own separators (`join`):
- first, for a message with two segments or more that hold text
  (`parts_first`): that candidate comes before the whole message's
  hypotheses (`translate po --segments first`, the default);
- again, for any message that splits, when none of its candidates passed
  (`retry`; with `--segments fallback`, the only time).
The joined text is judged as a whole like any suggestion (placeholders, the
export's `format_ok`, the toolkit's checks, msgfmt), and written only if it
passes.
"""

import re

from translate import accelerators, spans
from translate.localize.suggestions import Form, dress, hypothesis_lists

BOUNDARY = re.compile(r"[ \t]*\n[ \t\n]*|(?<=[.!?])[ \t]+(?=[A-Z\"'(<{%$@&])")
"""Where a message is split: whitespace holding a line break, or the spaces
after a sentence's end (a full stop, ! or ?) before what can start one."""


def split(text):
    """The parts of a message: `[(segment, separator), ...]` whose
    concatenation is `text`, split at each `BOUNDARY` that is not inside
    a protected span (a tag written over two lines stays whole).

    Args:
        text: the message.

    Returns:
        At least one pair; the last separator is "".
    """
    protected = [m.span() for m in spans.SPAN_PATTERN.finditer(text)
                 if m.group().strip(spans.WHITESPACE)]
    parts, start = [], 0
    for boundary in BOUNDARY.finditer(text):
        a, b = boundary.span()
        if any(s < b and a < e for s, e in protected):
            continue
        parts.append((text[start:a], text[a:b]))
        start = b
    parts.append((text[start:], ""))
    return parts


def has_text(segment):
    """Whether a segment holds words to translate (not only spans, digits, punctuation)."""
    return any(c.isalpha() for c in spans.SPAN_PATTERN.sub("", segment))


def parts_first(plain):
    """The parts of a message translated segment by segment first (before
    its whole), or None: those of a message with two segments or more that
    hold text. (On the dev split of Debian's catalogs, such messages scored
    1.6 to 9 chrF higher joined from their segments' translations than
    translated whole, with each of four models; README.)"""
    parts = split(plain)
    return parts if sum(has_text(segment) for segment, _ in parts) > 1 else None


def join(parts, found):
    """A message's translation from its segments' hypotheses.

    Args:
        parts: the message's `split`.
        found: `{segment: [(text, format_ok), ...]}` for each segment that
            holds text.

    Returns:
        `(text, format_ok, count)`: the parts joined with their separators,
        each segment that holds text replaced by its first hypothesis with
        `format_ok` (else its first); `format_ok` false if one of those lacks
        it, None if none reports it; and how many segments were translated.
    """
    chosen = {segment: next((h for h in found[segment] if h[1] is not False),
                            (found[segment] or [("", False)])[0])
              for segment, _ in parts if has_text(segment)}
    text = "".join((chosen[segment][0] if segment in chosen else segment) + separator
                   for segment, separator in parts)
    format_ok = None if all(ok is None for _, ok in chosen.values()) else all(
        ok is not False for _, ok in chosen.values())
    return text, format_ok, len(chosen)


def retry(forms, translate_n_best, accelerator=None):
    """Forms of failed messages again, each with one candidate: its
    segments' translations joined.

    Args:
        forms: `translate.localize.suggestions.Form`s none of whose
            candidates passed (those that had their segments' candidate
            already are left out).
        translate_n_best: the model, as `fill_catalog` takes it; called once,
            with every distinct segment that holds text (or not at all).
        accelerator: the catalog's accelerator marker, or None.

    Returns:
        `{id(form): Form}` for each form whose message splits into two parts
        or more, some of them text: a new, unjudged `Form` whose one
        candidate is `join`'s, and whose `segments` says how many segments
        were translated.
    """
    plans = {}
    for form in forms:
        if form.segments:
            continue
        plain, key = accelerators.remove(form.source, accelerator)
        parts = split(plain)
        if len(parts) > 1 and any(has_text(segment) for segment, _ in parts):
            plans[id(form)] = form, key, parts
    queries = list(dict.fromkeys(segment for _, _, parts in plans.values()
                                 for segment, _ in parts if has_text(segment)))
    if not queries:
        return {}
    found = dict(zip(queries, hypothesis_lists(translate_n_best(queries), len(queries))))
    retried = {}
    for form_id, (form, key, parts) in plans.items():
        text, format_ok, count = join(parts, found)
        retried[form_id] = Form(form.source, [(dress(form.source, accelerators.restore(text, key)),
                                               format_ok)], flags=form.flags, segments=count)
    return retried
