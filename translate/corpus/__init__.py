"""The corpus: reading sentence pairs, cleaning them, splitting and writing them.

Readers (all lazy and streaming; nothing is opened before the first pair is
asked for) yield `Pair(source, target, origin, line)`:
- `read_tsv`: `source<TAB>target` files;
- `read_parallel`: two line-aligned files;
- `read_po`, `read_mo`, `read_po_files`: gettext catalogs;
- `read_gettext`: all installed catalogs of one language.

Then `clean_pairs` normalises, filters and de-duplicates, `split_pairs` draws
a stable train/dev/test split, and `write_tsv` and `sha256_file` write the
result and its checksums. Every reader and filter takes an optional
`collections.Counter` (`stats`) in which it counts what it skipped and why.

Bad input raises `CorpusError` (a `ValueError`) naming the file and line.
"""

from translate.corpus.clean import clean_pairs, normalize
from translate.corpus.files import sha256_file, write_tsv
from translate.corpus.gettext import read_gettext, read_mo, read_po, read_po_files
from translate.corpus.pairs import CorpusError, CorpusWarning, Pair
from translate.corpus.parallel import read_parallel
from translate.corpus.split import describe_split_rule, split_pairs
from translate.corpus.tsv import read_tsv

__all__ = [
    "CorpusError",
    "CorpusWarning",
    "Pair",
    "clean_pairs",
    "describe_split_rule",
    "normalize",
    "read_gettext",
    "read_mo",
    "read_parallel",
    "read_po",
    "read_po_files",
    "read_tsv",
    "sha256_file",
    "split_pairs",
    "write_tsv",
]
