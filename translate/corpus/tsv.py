"""Reading tab-separated corpora: `source<TAB>target[<TAB>anything]` per line."""

from translate.corpus.lines import decode_line, read_lines
from translate.corpus.pairs import CorpusError, Pair, count


def read_tsv(path, skip_bad_lines=False, stats=None):
    """Streams the sentence pairs of a UTF-8 TSV file.

    Each line holds `source<TAB>target`; any further tab-separated columns are
    ignored. The file is read one line at a time, never as a whole. Lines that
    are empty (nothing but a line ending) are skipped and counted in
    `stats["blank_lines"]`. Text is returned as found; see `clean_pairs` for
    normalisation.

    Args:
        path: the TSV file.
        skip_bad_lines: skip lines without a tab and lines that are not valid
            UTF-8, counting them in `stats["bad_lines"]`, instead of raising.
        stats: a `collections.Counter` that receives the counts, or None.

    Yields:
        `Pair(source, target, origin=str(path), line=line_number)`.

    Raises:
        CorpusError: a line without a tab, or with bytes that are not UTF-8
            (unless `skip_bad_lines`); the message names file and line.
        OSError: the file cannot be opened.
    """
    origin = str(path)
    for number, raw in read_lines(path):
        if not raw:
            count(stats, "blank_lines")
            continue
        try:
            text = decode_line(raw, origin, number)
            if "\t" not in text:
                raise CorpusError("expected 'source<TAB>target', found no tab", origin, number)
        except CorpusError:
            if not skip_bad_lines:
                raise
            count(stats, "bad_lines")
            continue
        source, target = text.split("\t", 2)[:2]
        yield Pair(source, target, origin, number)
