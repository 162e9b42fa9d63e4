"""Keyboard accelerators in messages: `_File`, `&File`, `~File`.

A toolkit marks the key of a menu item or button in its label: GTK and GNOME
with `_`, Qt, KDE, wxWidgets and Windows resources with `&`, LibreOffice with
`~`. The translation must carry one marker too, before a letter of its own
text. Which character is the marker is a convention of the catalog's
toolkit, not something a message shows (`Tom & Jerry`, `snake_case`), so it
is given (`translate po --accelerator _`) and never guessed; without one, no
character is an accelerator.

What this project does with a known marker (the decision of issue 13):

- Before translation the marker is removed from the message (`_File` ->
  `File`), so that the model sees the words it was trained on.
- After translation it is put back: in the word of the translation that
  equals the accelerated word of the message (compared case-insensitively),
  before the same letter of it (`E_xit` -> `E_xit`, keeping the key the
  program's author chose among its siblings); when the translation has no
  such word, before its first letter or digit that can be a key
  (`_Open File` -> `_Datei öffnen`). A key is a plain letter or digit: one
  with a diacritic is passed over (`Ö` in `Öffnen`), as Translate Toolkit's
  `accelerators` check requires; a translation with no such character gets
  no marker, and that check then rejects it.
- A doubled marker (`__`, `&&`, `~~`) is the marker's escape, literal text:
  it is neither removed nor counted. With `&`, a character entity (`&amp;`,
  `&#160;`) is markup, not an accelerator; a marker inside a placeholder
  (`%(user_name)s`) or a tag (`<a href="a_b">`) is part of it, and the
  marker is never put back inside one.
- Only a message with exactly one accelerator is changed. A label has one;
  a message with several is not a label (or marks something else), and is
  translated as it is written.
"""

import dataclasses
import re
import unicodedata

from translate.placeholders import PLACEHOLDER_PATTERN

MARKERS = ("_", "&", "~")
"""The accelerator markers known: GTK/GNOME, Qt/KDE/Windows, LibreOffice."""

_ENTITY = re.compile(r"&(?:[A-Za-z][A-Za-z0-9]*|#[0-9]+|#[xX][0-9A-Fa-f]+);")
_TAG = re.compile(r"</?[A-Za-z][^<>]*>")
_WORD = re.compile(r"[^\W_]+")  # letters and digits


@dataclasses.dataclass(frozen=True)
class Accelerator:
    """Where a message's accelerator was, to put it back in a translation.

    Attributes:
        marker: the marker ("_", "&" or "~").
        word: the word of the message holding the accelerated character,
            without the marker (`File` for `_File`).
        offset: the accelerated character's position in `word`.
    """

    marker: str
    word: str
    offset: int


def check_marker(marker):
    """Returns `marker` if it is None or one of `MARKERS`.

    Raises:
        ValueError: any other value (the known markers are named).
    """
    if marker is not None and marker not in MARKERS:
        raise ValueError(f"unknown accelerator marker {marker!r}: expected one of "
                         f"{', '.join(MARKERS)} (or none).")
    return marker


def takes_accelerator(char):
    """Tells whether a character can be a key: a letter or digit without a diacritic."""
    return char.isalnum() and len(unicodedata.normalize("NFD", char)) == 1


def _markup(text):
    """The `(start, end)` spans of placeholders, tags and entities in `text`."""
    return [m.span() for pattern in (PLACEHOLDER_PATTERN, _TAG, _ENTITY)
            for m in pattern.finditer(text)]


def find(text, marker):
    """The positions of the accelerator markers in `text`.

    A marker counts when it comes before a character that `takes_accelerator`;
    a doubled marker, placeholders, tags and entities are skipped.

    Args:
        text: a message or translation.
        marker: one of `MARKERS`.

    Returns:
        A list of indices into `text`, of the markers.

    Raises:
        ValueError: an unknown marker.
    """
    check_marker(marker)
    markup = _markup(text)
    found = []
    i = 0
    while i < len(text):
        inside = next((end for start, end in markup if start <= i < end), None)
        if inside is not None:
            i = inside
        elif text.startswith(marker * 2, i):
            i += 2
        elif text[i] == marker and i + 1 < len(text) and takes_accelerator(text[i + 1]):
            found.append(i)
            i += 2
        else:
            i += 1
    return found


def remove(text, marker):
    """The message without its accelerator marker, and where it was.

    Args:
        text: the message.
        marker: one of `MARKERS`, or None (nothing is removed).

    Returns:
        `(text, accelerator)`: the text with its one accelerator marker
        removed and an `Accelerator`; `text` unchanged and None when it has
        no accelerator or several, or `marker` is None.

    Raises:
        ValueError: an unknown marker.
    """
    if marker is None:
        return text, None
    found = find(text, marker)
    if len(found) != 1:
        return text, None
    at = found[0]
    plain = text[:at] + text[at + 1:]
    word = next(m for m in _WORD.finditer(plain) if m.start() <= at < m.end())
    return plain, Accelerator(marker, word.group(), at - word.start())


def restore(translation, accelerator):
    """The translation with the message's accelerator put back (module docstring).

    Args:
        translation: a translation of the text `remove` returned.
        accelerator: what `remove` returned with it, or None.

    Returns:
        The translation with the marker inserted; unchanged when
        `accelerator` is None, when the translation has an accelerator
        already, or when no character of it can be a key.
    """
    if accelerator is None or find(translation, accelerator.marker):
        return translation
    markup = _markup(translation)

    def free(i):
        return (takes_accelerator(translation[i])
                and not any(start <= i < end for start, end in markup))

    words = [m for m in _WORD.finditer(translation)
             if m.group().lower() == accelerator.word.lower()
             and len(m.group()) > accelerator.offset and free(m.start() + accelerator.offset)]
    if words:
        at = words[0].start() + accelerator.offset
    else:
        at = next((i for i in range(len(translation)) if free(i)), None)
        if at is None:
            return translation
    return translation[:at] + accelerator.marker + translation[at:]
