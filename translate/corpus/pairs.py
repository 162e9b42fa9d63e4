"""The corpus record (`Pair`) and the errors and warnings of the corpus readers."""

import typing


class Pair(typing.NamedTuple):
    """One sentence pair and where it came from.

    Attributes:
        source: the source-language text.
        target: the target-language text.
        origin: where the pair was read: the file path for TSV, parallel and
            .po files; the catalog domain (the file name without `.mo`, e.g.
            "coreutils") for .mo catalogs.
        line: the 1-based line number in `origin`, or 0 where no line number
            is meaningful (.mo catalogs).
    """

    source: str
    target: str
    origin: str
    line: int


class CorpusError(ValueError):
    """Bad corpus input; the message names the file and, where known, the line.

    The message reads `path:line: what is wrong`, e.g.
    `data.tsv:17: expected 'source<TAB>target', found no tab`.

    Args:
        message: what is wrong.
        path: the offending file (or origin), if known.
        line: the 1-based line number, if known (0 or None: not shown).

    Attributes:
        path: the offending file as a string, or None.
        line: the line number, or None.
    """

    def __init__(self, message, path=None, line=None):
        self.path = None if path is None else str(path)
        self.line = line or None
        super().__init__(locate(message, path, line))


class CorpusWarning(UserWarning):
    """A corpus input that was skipped (e.g. an unreadable gettext catalog)."""


def locate(message, path=None, line=None):
    """Prefixes `message` with `path:line:` in the style of compilers.

    Args:
        message: the text.
        path: a file name or origin, or None.
        line: a 1-based line number; 0 or None leaves it out.

    Returns:
        `"path:line: message"`, `"path: message"` or `message`.
    """
    if path is None:
        return message
    if line:
        return f"{path}:{line}: {message}"
    return f"{path}: {message}"


def count(stats, key, n=1):
    """Adds `n` to `stats[key]` when `stats` is given.

    Args:
        stats: a `collections.Counter`, or None to count nothing.
        key: the counter's name.
        n: the amount to add.
    """
    if stats is not None:
        stats[key] += n
