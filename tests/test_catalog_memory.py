"""The catalog memory: a catalog's own translations (and its siblings') reused."""

from pathlib import Path

import polib
import pytest

from translate.corpus import CorpusError
from translate.localize import catalog_memory, catalogs, fill
from translate.localize.catalog_memory import CatalogMemory, near_key, repair

CATALOG = r"""msgid ""
msgstr ""
"Language: de\n"
"Content-Type: text/plain; charset=UTF-8\n"
"Plural-Forms: nplurals=2; plural=(n != 1);\n"

msgid "Delete the page"
msgstr "Seite löschen"

msgid "Page name:"
msgstr "Name der Seite:"

msgid "Hello %(user)s, you have {0} new messages"
msgstr "Hallo %(user)s, Sie haben {0} neue Nachrichten"

msgid "Wait 5 seconds"
msgstr "5 Sekunden warten"

msgid "Version 2 of 3"
msgstr "Version 2 von 3"

msgid "save draft"
msgstr "entwurf speichern"

msgctxt "verb"
msgid "Open"
msgstr "Öffnen"

msgctxt "adjective"
msgid "Open"
msgstr "Offen"

#, fuzzy
msgid "Publish the page"
msgstr "Seite veröffentlichen"

msgid "%d page"
msgid_plural "%d pages"
msgstr[0] "%d Seite"
msgstr[1] "%d Seiten"

msgid "Delete the Page"
msgstr ""

msgid "Page name"
msgstr ""

msgid "Hello %(name)s, you have {count} new messages"
msgstr ""

msgid "Wait 10 seconds"
msgstr ""

msgid "Version 3 of 3"
msgstr ""

msgid "Save draft"
msgstr ""

msgctxt "adjective"
msgid "Open"
msgstr ""

msgctxt "noun"
msgid "Open"
msgstr ""

msgid "Publish the page"
msgstr ""

msgid "Delete, the page"
msgstr ""

msgid "Something else entirely"
msgstr ""
"""


def catalog(text=CATALOG):
    return polib.pofile(text)


def test_near_key_ignores_case_space_punctuation_numbers_and_placeholder_names():
    assert near_key("Wait 5 seconds.") == near_key("wait  10 seconds")
    assert near_key("Hello %(user)s") == near_key("hello {name}")
    assert near_key("Delete the page") != near_key("Delete the pages")
    # Nothing but numbers, placeholders and punctuation: no near matches.
    assert near_key("%s: %d") is None and near_key("42") is None


@pytest.mark.parametrize("old,new,translation,expected", [
    ("Page name:", "Page name", "Name der Seite:", ("Name der Seite", ["punctuation"])),
    ("Saving", "Saving...", "Speichern", ("Speichern...", ["punctuation"])),
    ("Wait 5 seconds", "Wait 10 seconds", "5 Sekunden warten",
     ("10 Sekunden warten", ["numbers"])),
    ("Hello %(user)s, {0} new", "Hello %(name)s, {count} new", "Hallo %(user)s, {0} neu",
     ("Hallo %(name)s, {count} neu", ["placeholder names"])),
    # Reordered in the translation: mapped by name, not by position.
    ("%(a)s to %(b)s", "%(x)s to %(y)s", "nach %(b)s von %(a)s",
     ("nach %(y)s von %(x)s", ["placeholder names"])),
    ("save draft", "Save draft", "entwurf speichern", ("Entwurf speichern", ["case"])),
    # German capitals are grammar: a lower-case start is not forced.
    ("Delete the page", "delete the page", "Seite löschen", ("Seite löschen", [])),
    ("Swap 1 and 2", "Swap 2 and 1", "1 und 2 tauschen", ("2 und 1 tauschen", ["numbers"])),
])
def test_repair(old, new, translation, expected):
    assert repair(old, new, translation) == expected


@pytest.mark.parametrize("old,new,translation", [
    ("Delete the page", "Delete, the page", "Seite löschen"),  # punctuation inside
    ("Wait 5 seconds", "Wait 10 seconds", "Fünf Sekunden warten"),  # number written out
    ("Version 2 of 3", "Version 3 of 3", "Version 2 von 3"),  # 2->3 and 3->3: ambiguous
    ("%s of %s", "%s of %d", "%s von %s"),  # %s -> %s and %s -> %d
    ("Name:", "Name", "Name"),  # the translation did not end as its message did
    ("Hello %s", "Hello %s", "Hallo"),  # the translation lost the placeholder
])
def test_a_difference_that_cannot_be_repaired_safely_is_refused(old, new, translation):
    assert repair(old, new, translation) is None


def test_offers_exact_near_and_context():
    memory = CatalogMemory.from_catalogs(catalog(), catalog_name="de.po")
    # The translated, non-fuzzy entries only (8 singular, 1 plural).
    assert len(memory) == 9
    offers = memory.offers("adjective", "Open")
    assert [(o.targets, o.kind) for o in offers] == [(("Offen",), "exact"),
                                                     (("Öffnen",), "exact")]
    assert offers[0].note.startswith("exact match (de.po:")
    assert "other context 'verb'" in offers[1].note
    # A context of its own: both others offered, each comment saying so.
    assert {o.targets for o in memory.offers("noun", "Open")} == {("Offen",), ("Öffnen",)}
    near = memory.offers(None, "Hello %(name)s, you have {count} new messages")
    assert near[0].targets == ("Hallo %(name)s, Sie haben {count} neue Nachrichten",)
    assert near[0].note.startswith("near match, placeholder names repaired (de.po:")
    assert memory.offers(None, "%d page", "%d pages")[0].targets == ("%d Seite", "%d Seiten")
    # The fuzzy entry is not a memory; without a threshold no similar match.
    assert memory.offers(None, "Publish the page") == []
    assert memory.offers(None, "Delete, the page") == []


def test_fuzzy_matches_above_the_threshold():
    memory = CatalogMemory.from_catalogs(catalog())
    offer = memory.offers(None, "Delete the pages", threshold=0.5)[-1]
    assert (offer.kind, offer.targets) == ("fuzzy", ("Seite löschen",))
    assert offer.note.startswith("similarity 0.")
    assert memory.offers(None, "Delete the pages", threshold=0.999) == []


class Model:
    def __init__(self):
        self.asked = []

    def __call__(self, sentences):
        self.asked += sentences
        return [f"<{s}>" for s in sentences]


def test_fill_catalog_takes_the_catalog_memory_first_and_the_model_for_the_rest():
    filled, model = catalog(), Model()
    memory = CatalogMemory.from_catalogs(filled, catalog_name="de.po")
    summary = fill.fill_catalog(filled, model, model_label="fake/1", catalog_memory=memory)
    by_id = {(e.msgctxt, e.msgid): e for e in filled}
    assert by_id[(None, "Delete the Page")].msgstr == "Seite löschen"
    assert by_id[(None, "Page name")].msgstr == "Name der Seite"
    assert by_id[(None, "Wait 10 seconds")].msgstr == "10 Sekunden warten"
    assert by_id[(None, "Save draft")].msgstr == "Entwurf speichern"
    assert by_id[("adjective", "Open")].msgstr == "Offen"
    assert by_id[(None, "Hello %(name)s, you have {count} new messages")].msgstr == (
        "Hallo %(name)s, Sie haben {count} neue Nachrichten")
    repaired = by_id[(None, "Wait 10 seconds")]
    assert repaired.fuzzy and repaired.tcomment.startswith(
        "machine translation: catalog memory, near match, numbers repaired (de.po:")
    # Not repairable, fuzzy in the catalog, or unknown: the model.
    assert sorted(model.asked) == ["Delete, the page", "Publish the page",
                                   "Something else entirely", "Version 3 of 3"]
    assert by_id[(None, "Publish the page")].msgstr == "<Publish the page>"
    assert (summary.from_catalog, summary.catalog_exact, summary.catalog_near,
            summary.from_model, summary.catalog_memory) == (7, 2, 5, 4, 9)


def test_an_offer_that_fails_a_check_goes_to_the_next():
    filled, model = catalog(CATALOG + r"""
msgctxt "a"
msgid "Wait %d seconds"
msgstr "Bitte warten"

msgid "Wait %d seconds."
msgstr "%d Sekunden warten."

msgctxt "b"
msgid "Wait %d seconds"
msgstr ""
"""), Model()
    memory = CatalogMemory.from_catalogs(filled)
    summary = fill.fill_catalog(filled, model, model_label="fake/1", catalog_memory=memory)
    # The exact match of the other context lost the placeholder: the near match is taken.
    entry = next(e for e in filled if e.msgctxt == "b")
    assert entry.msgstr == "%d Sekunden warten"
    assert "near match, punctuation repaired" in entry.tcomment
    assert summary.catalog_rejected == 1


def test_other_catalogs_join_the_memory(tmp_path):
    other = tmp_path / "old.po"
    other.write_text('msgid ""\nmsgstr "Language: de_DE\\n"\n\n'
                     'msgid "Something else entirely"\nmsgstr "Etwas ganz anderes"\n',
                     encoding="utf-8")
    memory = CatalogMemory.from_catalogs(catalog(), [other], own=False)
    assert len(memory) == 1
    offer = memory.offers(None, "Something else entirely")[0]
    assert offer.targets == ("Etwas ganz anderes",) and offer.note == "exact match (old.po:4)"


def test_a_memory_catalog_of_another_language_or_unreadable_is_an_error(tmp_path):
    french = tmp_path / "fr.po"
    french.write_text('msgid ""\nmsgstr "Language: fr\\n"\n', encoding="utf-8")
    with pytest.raises(ValueError, match="fr.po is a catalog for 'fr', not 'de'"):
        CatalogMemory.from_catalogs(catalog(), [french])
    broken = tmp_path / "broken.po"
    broken.write_text('msgid ""\nmsgstr ""\n\nmsgid "a"\nmsgstr "b"\nnonsense\n',
                      encoding="utf-8")
    with pytest.raises(CorpusError, match="broken.po:6: not a valid .po catalog"):
        CatalogMemory.from_catalogs(catalog(), [broken])
    with pytest.raises(FileNotFoundError, match="missing.po"):
        CatalogMemory.from_catalogs(catalog(), [tmp_path / "missing.po"])


def test_near_keys_of_the_module_are_the_ones_offered():
    # The docstring's promise: an entry that differs only in whitespace is exact in all
    # but whitespace, and keeps the translator's inner spacing.
    memory = CatalogMemory.from_catalogs(catalog())
    offer = memory.offers(None, "Delete  the page")[0]
    assert (offer.kind, offer.targets) == ("near", ("Seite löschen",))
    assert catalog_memory.near_key("Delete  the page") == near_key("Delete the page")


def test_the_benchmark_blanks_a_stable_fifth_and_scores_what_was_filled(tmp_path):
    # benchmarks/catalog_learning.py: the 80/20 split and the scoring of filled entries.
    import sys
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    import catalog_learning

    source = tmp_path / "de.po"
    entries = "".join(f'\nmsgid "Message number {i}"\nmsgstr "Nachricht Nummer {i}"\n'
                      for i in range(200))
    source.write_text(CATALOG + entries, encoding="utf-8")
    blanked, kept = catalog_learning.blank(source, tmp_path / "blank.po")
    again, _ = catalog_learning.blank(source, tmp_path / "again.po")
    assert blanked == again and 25 <= len(blanked) <= 60 and kept + len(blanked) == 208
    written = catalogs.read_catalog(tmp_path / "blank.po")
    assert all(e.msgstr == "" for e in written if (e.msgctxt, e.msgid) in blanked)
    # Fill: the catalog memory's near matches of the kept numbers, else nothing.
    memory = CatalogMemory.from_catalogs(written)
    fill.fill_catalog(written, lambda sentences: [""] * len(sentences),
                      model_label="fake/1", catalog_memory=memory)
    catalogs.write_catalog(written, tmp_path / "filled.po")
    result = catalog_learning.score(tmp_path / "filled.po", blanked)
    numbered = sum(1 for _, msgid in blanked if msgid.startswith("Message number"))
    assert result["entries"] == len(blanked)
    assert result["origins"].get("catalog", 0) >= numbered  # all repaired from a kept number
    assert 0 < result["chrf"] <= 100
