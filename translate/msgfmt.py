"""GNU gettext's own format check, `msgfmt --check-format`, on candidate translations.

Translate Toolkit's checks compare placeholders; msgfmt parses a translation
as the format string its entry's flag says it is (`c-format`,
`python-format`, `python-brace-format`, ...) and rejects what the program's
formatting would choke on: a `%` that starts no valid directive (`»%«`),
`%(range) f` where the message has `%(range)s`. It is the check a
translator's build runs, so `translate po` runs it on every suggestion of a
flagged entry before writing it (`rejected`), where msgfmt is installed.

Each candidate becomes one entry of a temporary catalog, with its entry's
flags and its own context (so equal messages stay apart); msgfmt names the
lines it rejects, which map back to the candidates.
"""

import bisect
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import polib

_LINE = re.compile(r"^.*?:(\d+): ", re.M)
# Control characters polib's escape leaves raw (and no translation needs).
_UNESCAPED = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def command():
    """The path of `msgfmt`, or None when it is not installed."""
    return shutil.which("msgfmt")


def format_flags(flags):
    """The format flags among an entry's flags (`python-format`, not `no-c-format`)."""
    return [f for f in flags if f.endswith("-format") and not f.startswith("no-")]


def rejected(items):
    """The candidates msgfmt's format check rejects.

    Args:
        items: `(flags, source, translation)` triples: an entry's flags, the
            text a form translates (its msgid, or msgid_plural) and a
            candidate translation.

    Returns:
        The set of the indices of `items` that msgfmt rejects. Empty when
        msgfmt is not installed, or no item has a format flag.

    Raises:
        RuntimeError: msgfmt failed without naming a line (its message).
    """
    msgfmt = command()
    todo = [(i, format_flags(flags), source, translation)
            for i, (flags, source, translation) in enumerate(items)
            if translation and format_flags(flags)
            and not _UNESCAPED.search(source + translation)]
    if msgfmt is None or not todo:
        return set()
    lines = ['msgid ""', 'msgstr ""', '"Content-Type: text/plain; charset=UTF-8\\n"', ""]
    starts, owners = [], []
    for i, flags, source, translation in todo:
        starts.append(len(lines) + 1)  # 1-based: the block's first line
        owners.append(i)
        lines += ["#, " + ", ".join(flags), f'msgctxt "{i}"',
                  f'msgid "{polib.escape(source)}"', f'msgstr "{polib.escape(translation)}"',
                  ""]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "candidates.po"
        path.write_text("\n".join(lines), encoding="utf-8")
        result = subprocess.run([msgfmt, "--check-format", "-o", "/dev/null", str(path)],
                                capture_output=True, text=True)
    numbers = [int(n) for n in _LINE.findall(result.stderr)]
    if result.returncode != 0 and not numbers:
        raise RuntimeError(f"msgfmt --check-format failed: {result.stderr.strip()[-500:]}")
    return {owners[bisect.bisect_right(starts, n) - 1] for n in numbers if n >= starts[0]}
