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

from translate import spans as spans_lib

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


def _pieces(text, pattern):
    """Ragged `(batch, pieces)` of text and pattern matches, and which are matches."""
    pieces = tf_text.regex_split(text, pattern, pattern)
    matched = pieces.with_flat_values(
        tf.strings.regex_full_match(pieces.flat_values, pattern))
    return pieces, matched


def _sentinels(numbers):
    """`｟n｠` strings for an int tensor of span numbers (1-based)."""
    return (spans_lib.SENTINEL_OPEN + tf.strings.as_string(numbers)
            + spans_lib.SENTINEL_CLOSE)


def mask(text, max_spans=spans_lib.MAX_SPANS):
    """Masks a batch of messages.

    Args:
        text: `tf.string` `[batch]`, the raw messages.
        max_spans: spans given a sentinel per message.

    Returns:
        A dict: `text` (`[batch]`, the masked, cleaned core the model reads),
        `spans` (ragged `[batch, None]` strings, the spans masked in order),
        `lead` and `trail` (`[batch]`, each message's end whitespace).
    """
    # NUL ends a string for `regex_split`: read as a space, as `spans.mask` does.
    lead, core, trail = split_ends(tf.strings.regex_replace(text, "\\x00", " "))
    pieces, is_span = _pieces(core, spans_lib.SPAN_PATTERN_SOURCE)
    number = tf.cumsum(tf.cast(is_span, tf.int32), axis=1)
    masked = tf.logical_and(is_span, number <= max_spans)
    replaced = tf.where(masked.flat_values, _sentinels(number.flat_values), pieces.flat_values)
    joined = tf.strings.reduce_join(pieces.with_flat_values(replaced), axis=1)
    return {"text": clean(joined), "spans": tf.ragged.boolean_mask(pieces, masked),
            "lead": lead, "trail": trail}


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
        ("" for an empty translation), and whether every sentinel of the
        source came back exactly once and none other did.
    """
    spans, lead, trail = masked["spans"], masked["lead"], masked["trail"]
    if rows is not None:
        spans, lead, trail = (tf.gather(spans, rows), tf.gather(lead, rows),
                              tf.gather(trail, rows))
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
    expected = tf.sequence_mask(spans.row_lengths(), limit, dtype=tf.int32)
    invented = tf.math.unsorted_segment_sum(
        tf.cast(flat_sentinel & ~known, tf.int32), hypothesis, hypotheses)
    ok = tf.reduce_all(tf.equal(seen, expected), axis=1) & tf.equal(invented, 0)
    dressed = tf.where(tf.equal(text, ""), "", lead + text + trail)
    return dressed, ok
