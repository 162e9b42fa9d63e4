"""Catalogs: reading and writing .po files, their plural forms and entry states.

`read_catalog` parses a catalog with its declared charset and names the file
and line of what it cannot read; `write_catalog` writes a catalog made here
(`catalog_from_tsv`, a corpus slice to try `translate po` on) atomically. A
catalog read from a translator's file and filled is written by
`translate.localize.splice`, which keeps its bytes.
"""

import re
from pathlib import Path

import polib

from translate.atomic import atomic_file
from translate.corpus import CorpusError, read_tsv
from translate.corpus.gettext import load_po

DEFAULT_NPLURALS = 2
"""Plural forms when the header declares none (gettext's own default,
`nplurals=2; plural=(n != 1);`)."""

_NPLURALS = re.compile(r"nplurals\s*=\s*([0-9]+)")


def nplurals(catalog):
    """The number of plural forms the catalog's header declares.

    Args:
        catalog: a `polib.POFile`.

    Returns:
        `N` of the header's `Plural-Forms: nplurals=N; ...`, or
        `DEFAULT_NPLURALS` when there is none (or it is not a positive
        number).
    """
    match = _NPLURALS.search(catalog.metadata.get("Plural-Forms", ""))
    count = int(match.group(1)) if match else 0
    return count if count >= 1 else DEFAULT_NPLURALS


def plural_sources(entry, forms):
    """The source text of each plural form, `msgstr[0]` first."""
    if forms == 1:
        return [entry.msgid_plural]
    return [entry.msgid] + [entry.msgid_plural] * (forms - 1)


def entry_state(entry):
    """"translated", "fuzzy", "partial" or "untranslated" (a message entry)."""
    if entry.fuzzy:
        return "fuzzy"
    if entry.msgid_plural:
        filled = [bool(text) for text in entry.msgstr_plural.values()]
        if filled and all(filled):
            return "translated"
        return "partial" if any(filled) else "untranslated"
    return "translated" if entry.msgstr else "untranslated"


def read_catalog(path):
    """Parses a .po catalog with its declared charset.

    Args:
        path: the .po file.

    Returns:
        A `polib.POFile`.

    Raises:
        FileNotFoundError: there is no such file.
        translate.corpus.CorpusError: it cannot be read, is not valid .po
            syntax (the message names the file and the line polib gives), or
            cannot be decoded with its declared charset.
    """
    try:
        return load_po(path)
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: no such catalog.") from None
    except OSError as error:
        raise CorpusError(f"cannot be read: {error.strerror or error}", path) from None


def write_catalog(catalog, path):
    """Writes a whole catalog atomically, as polib lays it out.

    For a catalog made here (`catalog_from_tsv`); a catalog read from a file
    and filled is written by `write_filled`, which keeps its text.

    Args:
        catalog: a `polib.POFile`.
        path: the .po file to write (replaced if it exists).

    Raises:
        UnicodeEncodeError: a message cannot be encoded in the charset.
    """
    data = str(catalog).encode(catalog.encoding or "utf-8")
    with atomic_file(path, mode="wb") as f:
        f.write(data)


def catalog_from_tsv(tsv, out, limit=None, *, references=False, language=None):
    """Writes the messages of a TSV file as a catalog to translate.

    For trying `translate po`: e.g. the first 50 messages of a corpus's
    `test.tsv` (never seen in training) as a .po file whose translations are
    empty.

    Args:
        tsv: a `source<TAB>target` file (a corpus split).
        out: the .po file to write (atomically, UTF-8).
        limit: the most entries written; None for all.
        references: also record each message's reference translation, as an
            extracted comment (`#. reference: ...`), to compare with what is
            filled in.
        language: the header's `Language` (e.g. "de"), or None to leave it
            out.

    Returns:
        The number of entries written. A source met before (a .po file may
        hold each msgid once) and an empty source are left out; each entry's
        `#:` reference names the TSV file and line.

    Raises:
        FileNotFoundError: there is no such TSV file.
        translate.corpus.CorpusError: a malformed line (named by number).
        ValueError: `limit` is not None or a positive integer.
    """
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int)
                              or limit < 1):
        raise ValueError(f"limit must be a positive integer or None, got {limit!r}.")
    catalog = polib.POFile(wrapwidth=78)
    catalog.header = f"Messages of {Path(tsv).name} to translate, made by translate.localize."
    catalog.metadata = {
        "Project-Id-Version": Path(tsv).stem,
        "MIME-Version": "1.0",
        "Content-Type": "text/plain; charset=UTF-8",
        "Content-Transfer-Encoding": "8bit",
        **({"Language": language} if language else {}),
    }
    seen = set()
    for pair in read_tsv(tsv):
        if limit is not None and len(catalog) >= limit:
            break
        if not pair.source or pair.source in seen:
            continue
        seen.add(pair.source)
        catalog.append(polib.POEntry(
            msgid=pair.source, msgstr="", occurrences=[(Path(tsv).name, str(pair.line))],
            comment=f"reference: {pair.target}" if references else ""))
    write_catalog(catalog, out)
    return len(catalog)
