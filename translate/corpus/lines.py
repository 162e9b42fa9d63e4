"""Line-by-line reading of UTF-8 text files with exact line numbers.

Files are read in binary and split on b"\\n" only, so the line numbers agree
with editors and `grep -n` whatever other control characters the text holds,
and each line is decoded on its own, so a decoding error names its line.
"""

from translate.corpus.pairs import CorpusError

_BOM = b"\xef\xbb\xbf"


def read_lines(path):
    """Yields the raw lines of a file without their line endings.

    A UTF-8 byte order mark at the start of the file is dropped, and so are
    the line endings "\\n" and "\\r\\n". The file is read lazily, one line at a
    time.

    Args:
        path: the file to read.

    Yields:
        `(line_number, raw)`: the 1-based line number and the line's bytes.

    Raises:
        OSError: the file cannot be opened (e.g. `FileNotFoundError`).
    """
    with open(path, "rb") as f:
        for number, raw in enumerate(f, start=1):
            if number == 1 and raw.startswith(_BOM):
                raw = raw[len(_BOM):]
            if raw.endswith(b"\n"):
                raw = raw[:-1]
                if raw.endswith(b"\r"):
                    raw = raw[:-1]
            yield number, raw


def decode_line(raw, path, line):
    """Decodes one line as UTF-8.

    Args:
        raw: the line's bytes.
        path: the file, for the error message.
        line: the 1-based line number, for the error message.

    Returns:
        The decoded `str`.

    Raises:
        CorpusError: the bytes are not valid UTF-8; names file, line and column.
    """
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise CorpusError(
            f"not valid UTF-8: byte 0x{raw[e.start]:02x} at column {e.start + 1}",
            path, line) from None
