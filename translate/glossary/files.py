"""Glossary files: CSV (Weblate's export or a two-column sheet), TBX, gettext .po.

Each reader returns `Entry`s with where they were read (file and line), so a
problem is reported where the user can fix it. What every format shares:

* a term's source and target are stripped of surrounding whitespace;
* an empty source or target is an error naming the term and its line
  (a term with no translation cannot be followed);
* an entry that repeats another (same source, case-insensitively, and the
  same target) is dropped; the same source with two different targets is a
  conflict, and all conflicts are reported together.

Format notes:

* CSV: the header row names the columns; `source` and `target` (any case)
  are required, every other column is ignored (Weblate's export has
  `location`, `context`, `translator_comments`, ...). The delimiter is a
  comma, or a semicolon or tab when the header uses one.
* TBX: read with Translate Toolkit's TBX store (`translate.storage.tbx`), in
  its own process (see `translate.toolkit`); the source language is the
  file's first language set, the target the one named by `target_language`
  (or the second). A concept without a term in the target language is an
  empty target.
* .po: each translated, non-fuzzy entry's msgid -> msgstr (a glossary
  component of Weblate, or any catalog of terms). Untranslated and fuzzy
  entries are skipped and counted: in a catalog they are terms not agreed
  on yet, not terms without a translation.
"""

import csv
import dataclasses
import json
import subprocess
from pathlib import Path

from translate import toolkit


class GlossaryError(ValueError):
    """A glossary file cannot be used; the message names the file and line."""


@dataclasses.dataclass(frozen=True)
class Entry:
    """One term of a glossary.

    Attributes:
        source: the term in the source language, e.g. "page".
        target: its required translation, used as given, e.g. "Seite".
        where: `file:line` of the entry, for messages.
    """

    source: str
    target: str
    where: str


@dataclasses.dataclass(frozen=True)
class Read:
    """What a reader found: the entries, and the entries skipped (with why)."""

    entries: tuple
    skipped: tuple = ()


def _entry(source, target, where):
    source, target = (source or "").strip(), (target or "").strip()
    if not source and not target:
        return None
    if not source:
        raise GlossaryError(f"{where}: the term {target!r} has an empty source.")
    if not target:
        raise GlossaryError(f"{where}: the term {source!r} has an empty target.")
    return Entry(source, target, where)


def _sniff_delimiter(header):
    counts = {d: header.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def read_csv(path):
    """Reads a CSV glossary with `source` and `target` columns (see the module docstring)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as e:
        line = path.read_bytes()[:e.start].count(b"\n") + 1
        raise GlossaryError(f"{path}:{line}: not UTF-8 ({e.reason}).") from None
    lines = text.splitlines(keepends=True)
    if not lines:
        raise GlossaryError(f"{path}: empty file; expected a header row naming "
                            f"'source' and 'target' columns.")
    reader = csv.reader(lines, delimiter=_sniff_delimiter(lines[0]), strict=True)
    try:
        header = [name.strip().lower() for name in next(reader)]
    except csv.Error as e:
        raise GlossaryError(f"{path}:1: malformed header row ({e}).") from None
    missing = [name for name in ("source", "target") if name not in header]
    if missing:
        raise GlossaryError(f"{path}:1: the header row has no {' or '.join(map(repr, missing))} "
                            f"column (found: {', '.join(map(repr, header))}).")
    source, target = header.index("source"), header.index("target")
    entries = []
    while True:
        start = reader.line_num + 1  # a quoted field may span lines: the row's first
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as e:
            raise GlossaryError(f"{path}:{start}: malformed CSV ({e}; a quoted field "
                                f"not closed?).") from None
        where = f"{path}:{start}"
        if not any(field.strip() for field in row):
            continue
        if len(row) != len(header):
            raise GlossaryError(f"{where}: {len(row)} fields, but the header row has "
                                f"{len(header)}.")
        entry = _entry(row[source], row[target], where)
        if entry is not None:
            entries.append(entry)
    return Read(tuple(entries))


# Runs in the toolkit's process: the terms of each concept with their lines,
# or the XML error's line.
_TBX_READER = """
import json
from lxml import etree
from translate.storage import tbx
path, target_language = sys.argv[1], sys.argv[2] or None
try:
    store = tbx.tbxfile.parsefile(path)
except etree.XMLSyntaxError as e:
    print(json.dumps({"error": str(e), "line": e.lineno}))
    sys.exit(0)
units = []
for unit in store.units:
    source = unit.get_source_terms()
    target = unit.get_target_terms(target_language) if target_language else (
        unit.get_target_terms() if len(unit.getlanguageNodes()) > 1 else [])
    units.append({"line": unit.xmlelement.sourceline,
                  "source": [t.text for t in source], "target": [t.text for t in target]})
print(json.dumps({"units": units}))
"""


def read_tbx(path, target_language=None):
    """Reads a TBX glossary with Translate Toolkit (see the module docstring).

    A concept with several source terms gives an entry for each, all with
    the concept's first target term (the preferred one).
    """
    path = Path(path)
    result = subprocess.run(toolkit.python_command(_TBX_READER, path, target_language or ""),
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise GlossaryError(f"{path}: Translate Toolkit could not read it as TBX: "
                            f"{result.stderr.strip().splitlines()[-1] if result.stderr else ''}")
    found = json.loads(result.stdout.strip().splitlines()[-1])
    if "error" in found:
        raise GlossaryError(f"{path}:{found['line']}: malformed TBX ({found['error']}).")
    entries = []
    for unit in found["units"]:
        where = f"{path}:{unit['line']}"
        sources = [s for s in unit["source"] if s and s.strip()] or [""]
        target = next((t for t in unit["target"] if t and t.strip()), "")
        for source in sources:
            entry = _entry(source, target, where)
            if entry is not None:
                entries.append(entry)
    return Read(tuple(entries))


def read_po(path):
    """Reads a glossary catalog's translated entries (see the module docstring)."""
    import polib

    path = Path(path)
    try:
        catalog = polib.pofile(str(path))
    except (OSError, ValueError) as e:
        raise GlossaryError(f"{path}: cannot be read as a .po catalog ({e}).") from None
    entries, skipped = [], []
    for unit in catalog:
        if unit.obsolete or not unit.msgid:
            continue
        where = f"{path}:{unit.linenum}"
        if unit.fuzzy or not unit.msgstr:
            skipped.append((unit.msgid, where, "fuzzy" if unit.fuzzy else "untranslated"))
            continue
        entries.append(_entry(unit.msgid, unit.msgstr, where))
    return Read(tuple(e for e in entries if e is not None), tuple(skipped))


READERS = {".csv": read_csv, ".tbx": read_tbx, ".po": read_po}


def read_file(path, target_language=None):
    """Reads a glossary by its suffix (`.csv`, `.tbx`, `.po`).

    Args:
        path: the file.
        target_language: for TBX, which language set is the target (e.g.
            "de"); None for the second.

    Returns:
        A `Read`.

    Raises:
        FileNotFoundError: no such file.
        GlossaryError: an unknown suffix, or a problem of the file, named by
            file and line.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no glossary file {path}")
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        raise GlossaryError(f"{path}: unknown glossary format {path.suffix!r}; expected "
                            f"{', '.join(READERS)}.")
    if reader is read_tbx:
        return reader(path, target_language)
    return reader(path)


def unique(entries):
    """The entries without repeats; raises `GlossaryError` listing every conflict."""
    first, kept, conflicts = {}, [], []
    for entry in entries:
        key = entry.source.casefold()
        seen = first.get(key)
        if seen is None:
            first[key] = entry
            kept.append(entry)
        elif seen.target != entry.target:
            conflicts.append(f"{entry.where}: {entry.source!r} -> {entry.target!r} conflicts "
                             f"with {seen.where}: {seen.source!r} -> {seen.target!r}")
    if conflicts:
        raise GlossaryError(f"{len(conflicts)} conflicting glossary entries (one source, two "
                            f"targets):\n" + "\n".join(conflicts))
    return tuple(kept)
