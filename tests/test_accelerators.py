"""Keyboard accelerators: removed before translation, put back after it."""

import pytest

from translate import accelerators
from translate.accelerators import Accelerator, find, remove, restore


@pytest.mark.parametrize("message,marker,plain,accelerator", [
    ("_File", "_", "File", Accelerator("_", "File", 0)),
    ("E_xit", "_", "Exit", Accelerator("_", "Exit", 1)),
    ("&Save as...", "&", "Save as...", Accelerator("&", "Save", 0)),
    ("~Edit", "~", "Edit", Accelerator("~", "Edit", 0)),
    ("_1 file", "_", "1 file", Accelerator("_", "1", 0)),
    ("Tom && &Jerry", "&", "Tom && Jerry", Accelerator("&", "Jerry", 0)),
    ("Save &amp; &Quit", "&", "Save &amp; Quit", Accelerator("&", "Quit", 0)),
    ("<b>_Open</b> %(user_name)s", "_", "<b>Open</b> %(user_name)s",
     Accelerator("_", "Open", 0)),
])
def test_the_one_accelerator_is_removed(message, marker, plain, accelerator):
    assert remove(message, marker) == (plain, accelerator)


@pytest.mark.parametrize("message,marker", [
    ("Tom & Jerry", "&"),          # & before a space: text
    ("Save __init__.py", "_"),      # doubled: the marker's escape
    ("Fish &&& Chips", "&"),        # && then & before a space
    ("&amp; &#160; &#x2014;", "&"),  # entities
    ("%(user_name)s ${home_dir}", "_"),  # inside placeholders
    ('<a href="a_b.html">x</a>', "_"),  # inside a tag
    ("_Öffnen", "_"),               # a key has no diacritic
    ("_File and _Edit", "_"),       # several: not a label
    ("~/.config", "~"),
    ("_File", None),                # no convention known
])
def test_text_that_is_no_single_accelerator_is_left_alone(message, marker):
    assert remove(message, marker) == (message, None)


@pytest.mark.parametrize("message,translation,expected", [
    ("_Open File", "Datei öffnen", "_Datei öffnen"),  # no equal word: the first letter
    ("E_xit", "exit", "e_xit"),                        # the equal word, the same letter
    ("Show _Log", "_Protokoll zeigen", "_Protokoll zeigen"),  # has one already
    ("Open _Log", "Log öffnen", "_Log öffnen"),
    ("_Open", "Öffnen", "Ö_ffnen"),                    # Ö cannot be a key
    ("&Save %s", "%s &speichern", "%s &speichern"),
    ("&Save %s", "%s speichern", "%s &speichern"),     # not inside the placeholder
    ("_Open", "<b>Öffnen</b>", "<b>Ö_ffnen</b>"),      # nor inside a tag
    ("_Open", "…", "…"),                               # nothing can be a key
])
def test_the_marker_is_put_back(message, translation, expected):
    marker = message[0] if message[0] in accelerators.MARKERS else "_"
    _, accelerator = remove(message, marker)
    assert accelerator is not None
    assert restore(translation, accelerator) == expected
    keys = 0 if expected == "…" else 1
    assert len(find(expected, marker)) == keys, "exactly one accelerator where one fits"


def test_restore_without_an_accelerator_changes_nothing():
    assert restore("Datei", None) == "Datei"


def test_an_unknown_marker_is_an_error():
    with pytest.raises(ValueError, match=r"unknown accelerator marker '\^': expected one of "
                                         r"_, &, ~"):
        remove("^File", "^")
