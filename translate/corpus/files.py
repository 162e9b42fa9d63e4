"""Writing corpus files atomically, and their checksums for the manifest."""

import hashlib
import re

from translate.atomic import atomic_file
from translate.corpus.pairs import CorpusError

# Everything that some reader treats as a field or line separator.
_SEPARATORS = re.compile("[\t\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]")


def write_tsv(path, pairs):
    """Writes pairs as UTF-8 `source<TAB>target` lines, atomically.

    The file appears complete or not at all: it is written beside `path` and
    renamed into place only once every pair is written. Text is written as
    given; a tab or line break in it would break the format and raises
    instead (pairs from `clean_pairs` never hold one: see `normalize`).

    Args:
        path: the file to write (replaced if it exists; parents are created).
        pairs: an iterable of `Pair` (only `source` and `target` are written).

    Returns:
        The number of pairs written.

    Raises:
        CorpusError: a text holds a tab or line break; names the pair's origin
            and line. Nothing is written.
    """
    written = 0
    with atomic_file(path, "w", encoding="utf-8", newline="\n") as f:
        for pair in pairs:
            for side in ("source", "target"):
                match = _SEPARATORS.search(getattr(pair, side))
                if match:
                    raise CorpusError(
                        f"cannot write to TSV {path}: the {side} holds the separator "
                        f"{match.group()!r}; normalize() the pairs first",
                        pair.origin, pair.line)
            f.write(f"{pair.source}\t{pair.target}\n")
            written += 1
    return written


def sha256_file(path):
    """The SHA-256 of a file's bytes, read in 1 MiB chunks.

    Args:
        path: the file.

    Returns:
        The digest as 64 lowercase hex characters.

    Raises:
        OSError: the file cannot be read.
    """
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
