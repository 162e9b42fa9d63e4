"""Reading two aligned files, one sentence per line (e.g. `train.en`, `train.de`)."""

import itertools

from translate.corpus.lines import decode_line, read_lines
from translate.corpus.pairs import CorpusError, Pair, count


def read_parallel(source_path, target_path, skip_bad_lines=False, stats=None):
    """Streams the sentence pairs of two line-aligned UTF-8 files.

    Line `n` of `source_path` translates to line `n` of `target_path`. Both files
    are read in step, one line at a time. Empty lines are kept (as empty
    pairs, which `clean_pairs` drops) so that the alignment is never shifted.

    Args:
        source_path: the file of source sentences.
        target_path: the file of target sentences.
        skip_bad_lines: skip pairs where either line is not valid UTF-8,
            counting them in `stats["bad_lines"]`, instead of raising. Files of
            different lengths always raise.
        stats: a `collections.Counter` that receives the counts, or None.

    Yields:
        `Pair(source, target, origin=str(source_path), line=line_number)`.

    Raises:
        CorpusError: the files have different numbers of lines (the message
            names both files and the line where the shorter one ends), or a
            line is not valid UTF-8 (unless `skip_bad_lines`).
        OSError: a file cannot be opened.
    """
    origin, other = str(source_path), str(target_path)
    sources, targets = read_lines(source_path), read_lines(target_path)
    for left, right in itertools.zip_longest(sources, targets):
        if left is None or right is None:
            longer, shorter, (number, _) = ((other, origin, right) if left is None
                                            else (origin, other, left))
            raise CorpusError(
                f"{origin} and {other} are not aligned: {shorter} ends after line "
                f"{number - 1}, {longer} goes on at line {number}", longer, number)
        number = left[0]
        try:
            source = decode_line(left[1], origin, number)
            target = decode_line(right[1], other, number)
        except CorpusError:
            if not skip_bad_lines:
                raise
            count(stats, "bad_lines")
            continue
        yield Pair(source, target, origin, number)
