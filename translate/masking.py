"""Masking and unmasking of protected spans as TensorFlow ops, for the export.

The graph twin of `translate.spans.mask` / `unmask`, built from TensorFlow and
TensorFlow Text ops only (`tensorflow_text.regex_split`, RE2 regexes), so a
SavedModel masks and unmasks under TF Serving exactly as the Python path
does. The regular expressions are `translate.spans`'s, not copies; the tests
hold the two paths to identical strings.

How spans are found here: `regex_split` with the span pattern as both the
delimiter and the kept delimiter cuts a message into text and span pieces,
in order. A piece is a span exactly when the pattern matches all of it: the
scanner tried every position of a text piece, so none can match in full
(the pattern has no anchors or look-around).
"""

import tensorflow as tf
import tensorflow_text as tf_text
from tensorflow_text.python.ops.regex_split_ops import gen_regex_split_ops

from translate import spans as spans_lib
from translate.glossary import terms as terms_lib

_WS = "[\\t\\n\\r\\f\\v ]"
_LEAD = f"(?s)^({_WS}*).*$"
_CORE = f"(?s)^{_WS}*(.*?){_WS}*$"
_TRAIL = f"(?s)^.*?({_WS}*)$"


def split_ends(text):
    """`(lead, core, trail)` of each string, as `translate.spans.split_ends`."""
    core = tf.strings.regex_replace(text, _CORE, "\\1")
    empty = tf.equal(core, "")
    lead = tf.where(empty, text, tf.strings.regex_replace(text, _LEAD, "\\1"))
    trail = tf.where(empty, "", tf.strings.regex_replace(text, _TRAIL, "\\1"))
    return lead, core, trail


def clean(text):
    """As `translate.spans.clean`: separators to single spaces, ends stripped."""
    return tf.strings.strip(tf.strings.regex_replace(text, spans_lib.CLEANUP_PATTERN, " "))


def _split(text, pattern):
    """`regex_split(text, pattern, pattern)` for a pattern that may be a tensor
    (a glossary's terms come in as input): TF Text's op itself, which takes
    its patterns as tensors, behind the wrapper that wants Python strings."""
    if isinstance(pattern, str):
        return tf_text.regex_split(text, pattern, pattern)
    grouped = "(" + pattern + ")"
    tokens, _, _, row_splits = gen_regex_split_ops.regex_split_with_offsets(
        text, grouped, grouped)
    return tf.RaggedTensor.from_row_splits(tokens, row_splits)


def _pieces(text, pattern):
    """Ragged `(batch, pieces)` of text and pattern matches, and which are matches."""
    pieces = _split(text, pattern)
    matched = pieces.with_flat_values(
        tf.strings.regex_full_match(pieces.flat_values, pattern))
    return pieces, matched


def _sentinels(numbers):
    """`｟n｠` strings for an int tensor of span numbers (1-based)."""
    return (spans_lib.SENTINEL_OPEN + tf.strings.as_string(numbers)
            + spans_lib.SENTINEL_CLOSE)


def term_pattern(sources):
    """The glossary terms' regular expression, as `Glossary.python_pattern` in RE2.

    Args:
        sources: `tf.string` `[terms]`, longest first (`sort_terms`).

    Returns:
        A scalar string; "" for no terms.
    """
    escaped = tf.strings.regex_replace(sources, terms_lib.META_PATTERN, "\\\\\\1")
    starts = tf.strings.regex_full_match(sources, "(?s)[A-Za-z0-9_].*")
    ends = tf.strings.regex_full_match(sources, "(?s).*[A-Za-z0-9_]")
    alternatives = (tf.where(starts, "\\b", "") + escaped
                    + tf.where(ends, "(?:s)?\\b", ""))
    joined = tf.strings.reduce_join(alternatives, separator="|")
    return tf.where(tf.size(sources) > 0, "(?i:" + joined + ")", "")


def sort_terms(sources, targets):
    """The terms longest source first, ties in the given order (`terms.ordered`)."""
    order = tf.argsort(-tf.strings.length(sources, unit="UTF8_CHAR"), stable=True)
    return tf.gather(sources, order), tf.gather(targets, order)


def _term_targets(pieces, sources, targets):
    """The target of each matched term piece (`Glossary.target`): its own
    entry, else the entry of the piece less a plural `s`."""
    key = tf.strings.lower(pieces, encoding="utf-8")[:, None]
    lowered = tf.strings.lower(sources, encoding="utf-8")[None, :]
    exact = tf.equal(key, lowered)
    plural = tf.equal(key, lowered + "s")
    always = tf.ones([tf.shape(key)[0], 1], tf.int32)  # no argmax over an empty axis

    def first(hits):
        return tf.argmax(tf.concat([tf.cast(hits, tf.int32), always], 1), axis=1,
                         output_type=tf.int32)

    pick = tf.where(tf.reduce_any(exact, axis=1), first(exact), first(plural))
    return tf.gather(tf.concat([targets, [""]], 0), pick)


def mask(text, max_spans=spans_lib.MAX_SPANS, terms=None):
    """Masks a batch of messages.

    Args:
        text: `tf.string` `[batch]`, the raw messages.
        max_spans: spans given a sentinel per message.
        terms: None, or `(sources, targets)`, `tf.string` `[terms]` each: a
            glossary whose terms are masked too (as `spans.mask` with a
            `Glossary`); any order, the first of equal sources wins.

    Returns:
        A dict: `text` (`[batch]`, the masked, cleaned core the model reads),
        `spans` (ragged `[batch, None]` strings, the spans masked in order),
        `targets` (the same shape: what each sentinel becomes), `is_term`
        (the same shape, bool), `lead` and `trail` (`[batch]`, each
        message's end whitespace).
    """
    # NUL ends a string for `regex_split`: read as a space, as `spans.mask` does.
    lead, core, trail = split_ends(tf.strings.regex_replace(text, "\\x00", " "))
    pattern = spans_lib.SPAN_PATTERN_SOURCE
    if terms is not None:
        sources, targets = sort_terms(*terms)
        found = term_pattern(sources)
        pattern = tf.where(tf.equal(found, ""), pattern, pattern + "|" + found)
    pieces, matched = _pieces(core, pattern)
    number = tf.cumsum(tf.cast(matched, tf.int32), axis=1)
    masked = tf.logical_and(matched, number <= max_spans)
    flat = pieces.flat_values
    replaced = tf.where(masked.flat_values, _sentinels(number.flat_values), flat)
    joined = tf.strings.reduce_join(pieces.with_flat_values(replaced), axis=1)
    if terms is not None:
        is_term = masked.flat_values & ~tf.strings.regex_full_match(
            flat, spans_lib.SPAN_PATTERN_SOURCE)
        where = tf.where(is_term)[:, 0]
        term_targets = _term_targets(tf.gather(flat, where), sources, targets)
        target_values = tf.tensor_scatter_nd_update(flat, where[:, None], term_targets)
    else:
        is_term = tf.zeros_like(masked.flat_values)
        target_values = flat
    keep = lambda values: tf.ragged.boolean_mask(pieces.with_flat_values(values), masked)
    return {"text": clean(joined), "spans": tf.ragged.boolean_mask(pieces, masked),
            "targets": keep(target_values), "is_term": keep(is_term),
            "lead": lead, "trail": trail}


def mask_against(text, masked):
    """Masks each message's memory match against the message (`spans.mask_pair`'s target side).

    A span of a match equal to a span of its message gets that span's
    sentinel, the k-th occurrence of a text the message's k-th span of that
    text (as `mask_pair` uses each source span once, first come first
    served); the match's other spans stay text.

    Args:
        text: `tf.string` `[batch]`, the matches' translations.
        masked: `mask`'s result for the messages (without terms).

    Returns:
        `tf.string` `[batch]`: each match masked, its core cleaned.
    """
    _, core, _ = split_ends(tf.strings.regex_replace(text, "\\x00", " "))
    pieces, matched = _pieces(core, spans_lib.SPAN_PATTERN_SOURCE)
    # No string a piece can be: pads of the dense forms never compare equal.
    pad = spans_lib.SENTINEL_CLOSE * 2
    dense = pieces.to_tensor(pad)
    is_span = matched.to_tensor(False)
    width = tf.shape(dense)[1]
    sources = masked["spans"].to_tensor(pad)
    # rank: how many equal spans of the match come before each one.
    same = (tf.equal(dense[:, :, None], dense[:, None, :]) & is_span[:, None, :]
            & is_span[:, :, None])
    earlier = tf.linalg.band_part(tf.ones([width, width], tf.int32), -1, 0) - tf.eye(
        width, dtype=tf.int32)
    rank = tf.reduce_sum(tf.cast(same, tf.int32) * earlier[None], axis=2)
    equal = tf.equal(dense[:, :, None], sources[:, None, :]) & is_span[:, :, None]
    occurrence = tf.cumsum(tf.cast(equal, tf.int32), axis=2)
    hit = equal & tf.equal(occurrence, rank[:, :, None] + 1)
    # No argmax over an empty axis (a batch whose messages have no span).
    always = tf.zeros(tf.concat([tf.shape(hit)[:2], [1]], 0), tf.bool)
    index = tf.argmax(tf.cast(tf.concat([hit, always], 2), tf.int32), axis=2,
                      output_type=tf.int32)
    found = tf.reduce_any(hit, axis=2)
    replaced = tf.where(found, _sentinels(index + 1), dense)
    lengths = pieces.row_lengths()
    joined = tf.strings.reduce_join(
        tf.RaggedTensor.from_tensor(replaced, lengths=lengths), axis=1)
    return clean(joined)


def unmask(translations, masked, rows=None):
    """Puts the spans back into translations of masked messages.

    Args:
        translations: `tf.string` `[hypotheses]`, the model's outputs.
        masked: `mask`'s result for the sources.
        rows: `int32` `[hypotheses]`, the source row of each hypothesis; None
            when they are one per source, in order.

    Returns:
        `(text, ok)`: `[hypotheses]` strings with each sentinel replaced by
        its span (an invented one removed) inside the source's lead and trail
        ("" for an empty translation), and whether every span of the source
        came back as often as the source has it, counted by its text as
        `spans.unmask` counts, and no sentinel the source lacks came.
    """
    spans, lead, trail = masked["targets"], masked["lead"], masked["trail"]
    is_term = masked["is_term"]
    if rows is not None:
        spans, lead, trail, is_term = (tf.gather(spans, rows), tf.gather(lead, rows),
                                       tf.gather(trail, rows), tf.gather(is_term, rows))
    pieces, is_sentinel = _pieces(translations, spans_lib.SENTINEL_PATTERN)
    flat_pieces, flat_sentinel = pieces.flat_values, is_sentinel.flat_values
    digits = tf.strings.regex_replace(flat_pieces, "[^0-9]", "")
    index = tf.where(flat_sentinel,
                     tf.strings.to_number(tf.where(flat_sentinel, digits, "0"), tf.int32) - 1,
                     -1)
    hypothesis = tf.cast(pieces.value_rowids(), tf.int32)
    count = tf.gather(spans.row_lengths(), hypothesis)
    known = flat_sentinel & (index >= 0) & (index < tf.cast(count, tf.int32))
    start = tf.gather(tf.cast(spans.row_starts(), tf.int32), hypothesis)
    span_text = tf.gather(tf.concat([spans.flat_values, [""]], 0),
                          tf.where(known, start + index, tf.size(spans.flat_values)))
    replaced = tf.where(flat_sentinel, span_text, flat_pieces)
    text = tf.strings.reduce_join(pieces.with_flat_values(replaced), axis=1)

    hypotheses = tf.shape(translations)[0]
    limit = spans_lib.MAX_SPANS
    slot = tf.where(known, hypothesis * limit + index, hypotheses * limit)
    seen = tf.math.unsorted_segment_sum(tf.ones_like(slot), slot, hypotheses * limit + 1)
    seen = tf.reshape(seen[:-1], [hypotheses, limit])
    # Spans are counted by their text, as `spans.unmask` counts them: each
    # sentinel counts for the first span equal to its own.
    dense = spans.to_tensor("")
    width = tf.shape(dense)[1]
    # A term's sentinel may be missing or repeated (the glossary check judges the text).
    counted = (tf.sequence_mask(spans.row_lengths(), width)
               & ~is_term.to_tensor(False, shape=[hypotheses, width]))
    same = tf.equal(dense[:, :, None], dense[:, None, :]) & counted[:, None, :]
    always = tf.ones([hypotheses, width, 1], tf.int32)  # no argmax over an empty axis
    group = tf.argmax(tf.concat([tf.cast(same, tf.int32), always], 2), axis=2,
                      output_type=tf.int32)
    members = tf.one_hot(group, width, dtype=tf.int32) * tf.cast(counted, tf.int32)[:, :, None]
    written = tf.reduce_sum(seen[:, :width, None] * members, axis=1)
    wanted = tf.reduce_sum(members, axis=1)
    invented = tf.math.unsorted_segment_sum(
        tf.cast(flat_sentinel & ~known, tf.int32), hypothesis, hypotheses)
    ok = tf.reduce_all(tf.equal(written, wanted), axis=1) & tf.equal(invented, 0)
    dressed = tf.where(tf.equal(text, ""), "", lead + text + trail)
    return dressed, ok


def terms_followed(translations, masked, rows=None):
    """Whether each translation contains the targets of its source's masked terms.

    The graph twin of `translate.glossary.terms.missed_targets`: each term
    target (`masked["targets"]` where `is_term`) must occur in the
    translation, case-insensitively.

    Args:
        translations: `tf.string` `[hypotheses]`, unmasked.
        masked, rows: as for `unmask`.

    Returns:
        `bool` `[hypotheses]`; true for a source without terms.
    """
    targets, is_term = masked["targets"], masked["is_term"]
    if rows is not None:
        targets, is_term = tf.gather(targets, rows), tf.gather(is_term, rows)
    terms = tf.ragged.boolean_mask(targets, is_term)
    hypothesis = tf.cast(terms.value_rowids(), tf.int32)  # one row per (hypothesis, term)
    text = tf.gather(tf.strings.lower(translations, encoding="utf-8"), hypothesis)
    term = tf.strings.lower(terms.flat_values, encoding="utf-8")
    width = tf.strings.length(term)
    # Every byte offset the term could start at: a UTF-8 string is found at a
    # byte offset exactly when it is found as characters.
    starts = tf.ragged.range(tf.maximum(tf.strings.length(text) - width + 1, 0))
    pair = starts.value_rowids()
    found = tf.equal(tf.strings.substr(tf.gather(text, pair), starts.flat_values,
                                       tf.gather(width, pair)), tf.gather(term, pair))
    term_found = tf.math.unsorted_segment_max(tf.cast(found, tf.int32), tf.cast(pair, tf.int32),
                                              tf.size(term)) > 0
    missing = tf.math.unsorted_segment_sum(tf.cast(~term_found, tf.int32), hypothesis,
                                           tf.shape(translations)[0])
    return tf.equal(missing, 0)
