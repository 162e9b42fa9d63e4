"""Whitespace normalisation, filtering and de-duplication of sentence pairs."""

import hashlib

from translate.corpus.pairs import count


def normalize(text):
    """Collapses every run of whitespace into one space and strips the ends.

    "Whitespace" is Python's Unicode whitespace (`str.split()`): spaces, tabs,
    line breaks ("\\n", "\\r", "\\u2028"...), form feeds, and also no-break
    spaces, which become plain spaces. The result holds no tab and no line
    break, so it is always safe to write as one TSV field.

    Args:
        text: the text.

    Returns:
        The normalised text.
    """
    return " ".join(text.split())


def clean_pairs(pairs, min_chars=1, max_chars=500, max_length_ratio=9.0, stats=None):
    """Normalises, filters and de-duplicates sentence pairs, streaming.

    Both sides are normalised with `normalize`. A pair is then dropped, and
    counted under the first reason that applies, when:
    - "empty": either side is empty;
    - "too_short": either side has fewer than `min_chars` characters;
    - "too_long": either side has more than `max_chars` characters;
    - "identical": source and target are the same text;
    - "length_ratio": the longer side has more than `max_length_ratio` times
      the characters of the shorter;
    - "duplicate_source": an earlier kept pair had the same source (the first
      is kept; a dropped pair does not claim its source).
    Kept pairs are counted in `stats["kept"]`. Lengths are in characters
    (Unicode code points). Only a set of 16-byte digests of the kept sources
    is held in memory.

    Args:
        pairs: an iterable of `Pair`.
        min_chars: the fewest characters each side must have (>= 1).
        max_chars: the most characters each side may have.
        max_length_ratio: the largest allowed ratio of the longer side's length
            to the shorter's (>= 1).
        stats: a `collections.Counter` that receives the counts, or None.

    Returns:
        An iterator of the kept `Pair`s, normalised, in their original order.

    Raises:
        ValueError: a limit is out of range.
    """
    if min_chars < 1:
        raise ValueError(f"min_chars must be at least 1; received {min_chars}")
    if max_chars < min_chars:
        raise ValueError(
            f"max_chars must be at least min_chars ({min_chars}); received {max_chars}")
    if max_length_ratio < 1:
        raise ValueError(f"max_length_ratio must be at least 1; received {max_length_ratio}")
    return _clean(pairs, min_chars, max_chars, max_length_ratio, stats)


def _clean(pairs, min_chars, max_chars, max_length_ratio, stats):
    seen = set()
    for pair in pairs:
        source, target = normalize(pair.source), normalize(pair.target)
        reason = _rejection(source, target, min_chars, max_chars, max_length_ratio)
        if reason is None:
            digest = hashlib.blake2b(source.encode("utf-8"), digest_size=16).digest()
            if digest in seen:
                reason = "duplicate_source"
            else:
                seen.add(digest)
        if reason is not None:
            count(stats, reason)
            continue
        count(stats, "kept")
        yield pair._replace(source=source, target=target)


def _rejection(source, target, min_chars, max_chars, max_length_ratio):
    """The reason to drop a normalised pair, or None to keep it."""
    shorter, longer = sorted((len(source), len(target)))
    if shorter == 0:
        return "empty"
    if shorter < min_chars:
        return "too_short"
    if longer > max_chars:
        return "too_long"
    if source == target:
        return "identical"
    if longer > max_length_ratio * shorter:
        return "length_ratio"
    return None
