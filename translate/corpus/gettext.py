"""Reading gettext catalogs (.po sources and compiled .mo files) as sentence pairs.

Each translated message gives one pair `msgid -> msgstr`:
- a message context (`msgctxt`) is dropped, the message kept;
- plural entries give their singular: `msgid -> msgstr[0]`; with
  `plurals=True` also `msgid_plural -> msgstr[1]` where the entry has just
  two forms (English's one and other, as German has: with three or more
  forms, no one form is the translation of the English plural);
- the header entry (empty msgid) is skipped;
- fuzzy, obsolete (`#~`) and untranslated entries are skipped and counted in
  `stats["fuzzy"]`, `stats["obsolete"]` and `stats["untranslated"]`.

Every catalog is decoded with the charset its header declares (UTF-8 where it
declares none), so ISO-8859-1 catalogs such as net-tools' German read
correctly. Like all corpus readers these are lazy: nothing is opened before the first
pair is asked for. Parsing is done by `polib`; for .mo files the charset is read from
the header entry itself rather than by searching the file for it, so a message
that happens to mention a charset cannot mislead the decoder.
"""

import codecs
import re
import struct
import warnings
from pathlib import Path

import polib

from translate.corpus.pairs import CorpusError, CorpusWarning, Pair, count

_MO_MAGIC = 0x950412DE
_CHARSET = re.compile(rb"charset=([A-Za-z0-9_.:-]+)")
_PO_SYNTAX_LINE = re.compile(r"\(line (\d+)\)")


def read_po(path, stats=None, plurals=False):
    """Streams the translated messages of a .po catalog.

    Args:
        path: the .po file.
        stats: a `collections.Counter` that receives the counts of skipped
            entries ("fuzzy", "obsolete", "untranslated"), or None.
        plurals: also yield a two-form plural entry's `msgid_plural ->
            msgstr[1]` (see the module doc).

    Yields:
        `Pair(msgid, msgstr, origin=str(path), line=n)`, where `n` is the line
        on which the entry (its first comment or keyword) starts.

    Raises:
        CorpusError: the catalog is not valid .po syntax (naming the line), or
            cannot be decoded with its declared charset.
        OSError: the file cannot be opened.
    """
    yield from _pairs(load_po(path), str(path), True, stats, plurals)


def read_mo(path, stats=None, plurals=False):
    """Streams the translated messages of a compiled .mo catalog.

    Args:
        path: the .mo file.
        stats: a `collections.Counter` that receives the counts of skipped
            entries, or None. (msgfmt leaves fuzzy, obsolete and untranslated
            entries out of .mo files, so these counts are usually zero.)
        plurals: as for `read_po`.

    Yields:
        `Pair(msgid, msgstr, origin=domain, line=0)`, where the domain is the
        file name without `.mo` (e.g. "coreutils").

    Raises:
        CorpusError: the file is not a valid .mo catalog, or cannot be decoded
            with its declared charset.
        OSError: the file cannot be opened.
    """
    yield from _pairs(_load_mo(path), Path(path).stem, False, stats, plurals)


def read_po_files(paths, stats=None, plurals=False):
    """Streams the messages of several catalogs, one after the other.

    Files ending in `.mo` are read with `read_mo`, all others with `read_po`.
    Unlike `read_gettext`, a catalog that cannot be read raises: these files
    were named explicitly.

    Args:
        paths: an iterable of .po (or .mo) files, read in the order given.
        stats: a `collections.Counter` that receives the counts, or None.
        plurals: as for `read_po`.

    Yields:
        The `Pair`s of each catalog in turn.

    Raises:
        CorpusError, OSError: as `read_po` and `read_mo`.
    """
    for path in paths:
        reader = read_mo if str(path).endswith(".mo") else read_po
        yield from reader(path, stats=stats, plurals=plurals)


def read_gettext(lang, locale_dir="/usr/share/locale", stats=None):
    """Streams the messages of every installed catalog of one language.

    Reads `<locale_dir>/<lang>/LC_MESSAGES/*.mo` in sorted file-name order.
    Only the exact `<lang>` directory is read: `read_gettext("de")` does not
    read `de_AT` or `de_CH`, so that regional variants are asked for
    explicitly. A catalog that cannot be read is skipped with a
    `CorpusWarning` naming it and counted in `stats["unreadable_catalogs"]`;
    it never stops the reading. Catalogs read are counted in
    `stats["catalogs"]`. A catalog that is the same file as one read before
    (a symbolic or hard link, such as Debian's `iso_639.mo -> iso_639-2.mo`)
    is read once, under its first name in sorted order, and its other names
    are counted in `stats["alias_catalogs"]`.

    Args:
        lang: the locale directory's name, e.g. "de" or "pt_BR".
        locale_dir: the root of the installed catalogs.
        stats: a `collections.Counter` that receives the counts, or None.

    Yields:
        `Pair(msgid, msgstr, origin=domain, line=0)` for each translated
        message, catalog by catalog.

    Raises:
        ValueError: `lang` is not a plain directory name.
        CorpusError: `<locale_dir>/<lang>/LC_MESSAGES` is not a directory.
    """
    if not lang or lang in (".", "..") or "/" in lang or "\\" in lang:
        raise ValueError(f"lang must be a locale name such as 'de'; received {lang!r}")
    return _read_gettext(Path(locale_dir) / lang / "LC_MESSAGES", lang, stats)


def _read_gettext(directory, lang, stats):
    if not directory.is_dir():
        raise CorpusError(f"no gettext catalogs for {lang!r}: not a directory", directory)
    seen = set()
    for path in sorted(directory.glob("*.mo")):
        try:
            status = path.stat()
            if (status.st_dev, status.st_ino) in seen:
                count(stats, "alias_catalogs")
                continue
            seen.add((status.st_dev, status.st_ino))
            catalog = _load_mo(path)
        except (CorpusError, OSError) as e:
            count(stats, "unreadable_catalogs")
            warnings.warn(f"skipping unreadable gettext catalog {path}: {e}",
                          CorpusWarning, stacklevel=2)
            continue
        count(stats, "catalogs")
        yield from _pairs(catalog, path.stem, False, stats)


def mo_charset(path):
    """The charset a .mo catalog declares in its header entry.

    Args:
        path: the .mo file.

    Returns:
        The charset's name as declared (e.g. "UTF-8", "ISO-8859-1"); "UTF-8"
        when the catalog has no header or the header names no charset (or
        only gettext's template placeholder "CHARSET").

    Raises:
        CorpusError: not a .mo file (bad magic number, truncated), or the
            declared charset is unknown to Python.
        OSError: the file cannot be opened.
    """
    try:
        with open(path, "rb") as f:
            head = f.read(20)
            order = _byte_order(head[:4], path)
            _, entries, ids_at, strs_at = struct.unpack(order + "4I", head[4:20])
            if entries == 0:
                return "UTF-8"
            f.seek(ids_at)
            id_length, _ = struct.unpack(order + "2I", f.read(8))
            if id_length != 0:  # the header is the message with the empty msgid
                return "UTF-8"
            f.seek(strs_at)
            header_length, header_at = struct.unpack(order + "2I", f.read(8))
            f.seek(header_at)
            header = f.read(header_length)
    except struct.error:
        raise CorpusError("not a .mo catalog: truncated", path) from None
    return _checked_charset(_CHARSET.search(header), path)


def _byte_order(magic, path):
    for order in "<>":
        if len(magic) == 4 and struct.unpack(order + "I", magic)[0] == _MO_MAGIC:
            return order
    raise CorpusError("not a .mo catalog: bad magic number", path)


def _checked_charset(match, path):
    charset = match.group(1).decode("ascii") if match else "UTF-8"
    if charset == "CHARSET":
        return "UTF-8"
    try:
        codecs.lookup(charset)
    except LookupError:
        raise CorpusError(f"declares the unknown charset {charset!r}", path) from None
    return charset


def _load_mo(path):
    """Parses a .mo file with its declared charset; errors become CorpusError."""
    charset = mo_charset(path)
    try:
        return polib.mofile(str(path), encoding=charset)
    except UnicodeDecodeError as e:
        raise CorpusError(f"cannot be decoded as its declared charset {charset}: {e}",
                          path) from None
    except (OSError, struct.error, IndexError, ValueError) as e:
        raise CorpusError(f"not a valid .mo catalog: {e}", path) from None


def load_po(path):
    """Parses a .po file with its declared charset.

    Args:
        path: the .po file.

    Returns:
        A `polib.POFile` (header, comments and obsolete entries included).

    Raises:
        CorpusError: not valid .po syntax (naming the line polib gives), or
            not decodable with the declared charset.
        OSError: the file cannot be opened.
    """
    with open(path, "rb"):  # the errors of open(), not polib's guess that a
        pass                # missing path is the catalog's text
    charset = polib.detect_encoding(str(path))
    try:
        return polib.pofile(str(path), encoding=charset)
    except UnicodeDecodeError as e:
        raise CorpusError(f"cannot be decoded as its declared charset {charset}: {e}",
                          path) from None
    except (OSError, ValueError) as e:
        match = _PO_SYNTAX_LINE.search(str(e))
        line = int(match.group(1)) if match else None
        raise CorpusError(f"not a valid .po catalog: {e}", path, line) from None


def _pairs(catalog, origin, with_lines, stats, plurals=False):
    """Yields the pairs of a parsed catalog, counting what it skips."""
    for entry in catalog:
        if entry.obsolete:
            count(stats, "obsolete")
            continue
        if entry.msgid == "":
            continue  # the header
        if getattr(entry, "fuzzy", False):
            count(stats, "fuzzy")
            continue
        forms = entry.msgstr_plural if entry.msgid_plural else {0: entry.msgstr}
        target = _form(forms, 0)
        if not target:
            count(stats, "untranslated")
            continue
        line = (entry.linenum or 0) if with_lines else 0
        yield Pair(entry.msgid, target, origin, line)
        if plurals and entry.msgid_plural and len(forms) == 2 and _form(forms, 1):
            yield Pair(entry.msgid_plural, _form(forms, 1), origin, line)


def _form(forms, index):
    """A plural form's text ("" if missing); polib keys them by int or str."""
    return forms.get(index, forms.get(str(index), ""))
