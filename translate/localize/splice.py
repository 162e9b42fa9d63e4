"""Writing a filled catalog by editing its text: every byte but the filled entries' kept.

Only the filled entries change, and in them only three things: a comment
line is added after the translator comments, `fuzzy` is added to the flags
(a `#, fuzzy` line where there were none), and the `msgstr` lines are
replaced. The catalog's text is edited at the lines polib parsed them from;
every other byte is kept, including the header's order, line wrapping and
escapes. (Saving through polib instead would re-wrap every long string at
its own width, move header fields, and turn an escape it does not know, such
as the `\\a` in bash's catalog, into other text; polib still reads such a
message as a backslash and a letter, so that is what the model is given.)
The edited text is parsed again and must hold exactly the intended catalog
before it is written, in the catalog's own charset and line endings,
atomically (`translate.atomic`): it appears complete or not at all, so
filling a catalog in place cannot leave it half written.
"""

import bisect
import re
import tempfile
from pathlib import Path

import polib

from translate.atomic import atomic_file

# A line with its ending; polib reads in universal-newline mode, so \r\n, \r
# and \n each end a line, as they do for its line numbers.
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")
_NEWLINE = re.compile(r"\r\n|\r|\n")
_MSGSTR = re.compile(r"\s*msgstr\b")


def _msgstr_lines(entry, wrapwidth):
    """The `msgstr` (or `msgstr[i]`) lines polib writes for an entry."""
    lines = entry.__unicode__(wrapwidth).split("\n")
    first = next(i for i, line in enumerate(lines) if _MSGSTR.match(line))
    return [line for line in lines[first:] if line]


def _edit_block(block, entry, newline, wrapwidth):
    """An entry's lines with the comment, the fuzzy flag and the new msgstr."""
    keyword = next(i for i, line in enumerate(block) if not line.lstrip().startswith("#"))
    # Translator comments are "#" followed by anything but . : , | ~
    translator = [i for i, line in enumerate(block[:keyword])
                  if re.match(r"\s*#(?![.:,|~])", line)]
    at = translator[-1] + 1 if translator else 0
    comment = entry.tcomment.rsplit("\n", 1)[-1]
    block = block[:at] + [f"# {comment}{newline}"] + block[at:]
    keyword += 1
    flags = [i for i, line in enumerate(block[:keyword]) if line.lstrip().startswith("#,")]
    if flags:
        line = block[flags[0]]
        indent = line[:len(line) - len(line.lstrip())]
        block[flags[0]] = f"{indent}#, fuzzy,{line.lstrip()[2:]}"
    else:
        # After the extracted comments and references, before "#|" lines.
        previous = [i for i, line in enumerate(block[:keyword])
                    if line.lstrip().startswith("#|")]
        at = previous[0] if previous else keyword
        block = block[:at] + [f"#, fuzzy{newline}"] + block[at:]
    msgstr = next(i for i, line in enumerate(block) if _MSGSTR.match(line))
    ending = newline if _NEWLINE.search(block[-1]) else ""  # keep a missing final newline
    new = [line + newline for line in _msgstr_lines(entry, wrapwidth)]
    new[-1] = new[-1][:len(new[-1]) - len(newline)] + ending
    return block[:msgstr] + new


def splice(text, catalog, entries, wrapwidth=78):
    """The catalog's text with `entries` rewritten, every other line kept.

    Args:
        text: the text `catalog` was parsed from (decoded).
        catalog: the parsed `polib.POFile`, its `entries` already filled
            (fuzzy flag, comment, msgstr).
        entries: the filled entries (their `linenum`s locate them).
        wrapwidth: where polib wraps the new msgstr lines.

    Returns:
        The new text: in each filled entry, the last comment line of its
        `tcomment` added after its translator comments, `fuzzy` added to its
        flags, its `msgstr` lines replaced; the file's own line endings.
    """
    lines = _LINE.findall(text)
    found = _NEWLINE.search(text)
    newline = found.group() if found else "\n"
    starts = sorted(e.linenum for e in catalog)
    for entry in sorted(entries, key=lambda e: e.linenum, reverse=True):
        start = entry.linenum - 1
        after = bisect.bisect_right(starts, entry.linenum)  # the next entry's start
        end = starts[after] - 1 if after < len(starts) else len(lines)
        while end > start and not lines[end - 1].strip():
            end -= 1  # blank lines between entries stay as they are
        lines[start:end] = _edit_block(lines[start:end], entry, newline, wrapwidth)
    return "".join(lines)


def _parse_text(text, encoding):
    """polib's reading of a catalog's text, through a file as for the original."""
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "catalog.po"
        path.write_bytes(text.encode(encoding))
        return polib.pofile(str(path), encoding=encoding)


def _fields(entry):
    return (entry.msgctxt, entry.msgid, entry.msgid_plural, bool(entry.obsolete),
            entry.msgstr, dict(entry.msgstr_plural), entry.tcomment, entry.fuzzy)


def write_filled(catalog_path, catalog, entries, out):
    """Writes a filled catalog by editing the text it was read from.

    Args:
        catalog_path: the .po file `catalog` was parsed from (`read_catalog`).
        catalog: that `polib.POFile`, with `entries` filled (`fill_catalog`).
        entries: the filled entries (`FillSummary.filled_entries`).
        out: the .po file to write, atomically; `catalog_path` itself to fill
            it in place. An existing file keeps its permission bits.

    Raises:
        RuntimeError: the edited text does not parse back to the filled
            catalog (nothing is written).
    """
    encoding = catalog.encoding or "utf-8"
    text = Path(catalog_path).read_bytes().decode(encoding)
    edited = splice(text, catalog, entries, catalog.wrapwidth)
    check = _parse_text(edited, encoding)
    if ([_fields(e) for e in check] != [_fields(e) for e in catalog]
            or check.metadata != catalog.metadata):
        raise RuntimeError(f"filling {catalog_path} went wrong: the edited catalog does not "
                           f"parse back to the filled one; nothing written to {out}.")
    with atomic_file(out, mode="wb") as f:  # an existing file keeps its permissions
        f.write(edited.encode(encoding))
