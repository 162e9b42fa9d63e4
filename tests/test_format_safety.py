"""The format-safety benchmark's counting (benchmarks/format_safety.py), on hand-made catalogs.

The real pofilter (Translate Toolkit, in its own process) judges a human
catalog and a filled one made here; what the benchmark reports must be what
was put in: which entries were filled, which checks failed on which side,
which entries kept their placeholders and tags. No download, no model.
"""

import importlib
import sys
import textwrap
import zipfile
from pathlib import Path

import polib
import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def format_safety():
    """benchmarks/format_safety.py as a module (it imports benchmarks/heldout.py)."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        yield importlib.import_module("format_safety")
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))


HEADER = textwrap.dedent('''\
    msgid ""
    msgstr ""
    "Content-Type: text/plain; charset=UTF-8\\n"
    "Plural-Forms: nplurals=2; plural=(n != 1);\\n"
    ''')

HUMAN = HEADER + textwrap.dedent('''
    #, python-format
    msgid "Hello %(name)s"
    msgstr "Hallo %(name)s"

    #, python-format
    msgid "Read <a href=\\"%(url)s\\">the guide</a>"
    msgstr "Lies <a href=\\"%(url)s\\">die Anleitung</a>"

    msgid "Save (now)"
    msgstr "Speichern (jetzt)"

    #, python-format
    msgid "%(count)s file"
    msgid_plural "%(count)s files"
    msgstr[0] "%(count)s Datei"
    msgstr[1] "%(count)s Dateien"

    msgid "Nothing to do"
    msgstr "Nichts zu tun"
    ''')

MODEL = "# machine translation: model gru-keras translator/1 (serving_default)"

# Entry 1 right; 2 loses the closing tag; 3 (from the memory) a bracket;
# 4 renames the count in its plural form; 5 left untranslated.
FILLED = HEADER + textwrap.dedent(f'''
    {MODEL}
    #, fuzzy, python-format
    msgid "Hello %(name)s"
    msgstr "Hallo %(name)s"

    {MODEL}
    #, fuzzy, python-format
    msgid "Read <a href=\\"%(url)s\\">the guide</a>"
    msgstr "Lies <a href=\\"%(url)s\\">die Anleitung"

    # machine translation: memory, similarity 0.91
    #, fuzzy
    msgid "Save (now)"
    msgstr "Speichern (jetzt"

    {MODEL}
    #, fuzzy, python-format
    msgid "%(count)s file"
    msgid_plural "%(count)s files"
    msgstr[0] "%(count)s Datei"
    msgstr[1] "%(anzahl)s Dateien"

    msgid "Nothing to do"
    msgstr ""
    ''')


def test_counts_pofilter_failures_and_spans_of_a_filled_catalog(format_safety, tmp_path):
    human, filled = tmp_path / "de.human.po", tmp_path / "de.filled.po"
    human.write_text(HUMAN, encoding="utf-8")
    filled.write_text(FILLED, encoding="utf-8")

    records = format_safety.entry_records(human, filled, catalog="hand-made",
                                          overlap={"Nothing to do"})
    by_msgid = {r["msgid"]: r for r in records}
    assert [r["filled"] for r in records] == [True, True, True, True, False]
    assert by_msgid["Save (now)"]["origin"] == "memory"
    assert by_msgid["Read <a href=\"%(url)s\">the guide</a>"]["machine_failures"] == ["xmltags"]
    assert by_msgid["Save (now)"]["machine_failures"] == ["brackets"]
    assert by_msgid["%(count)s file"]["machine_failures"] == ["printf"]
    assert by_msgid["Hello %(name)s"]["machine_failures"] == []
    assert all(r["human_failures"] == [] for r in records)

    report = format_safety.summarize(records, categories=format_safety.check_categories())
    assert (report["entries"], report["filled"], report["kept_untranslated"]) == (5, 4, 1)
    assert (report["from_memory"], report["from_model"], report["in_training"]) == (1, 3, 1)
    checks = report["pofilter"]["checks"]
    assert (checks["xmltags"]["machine"], checks["brackets"]["machine"],
            checks["printf"]["machine"]) == (1, 1, 1)
    assert checks["xmltags"]["category"] == "critical"
    assert checks["brackets"]["category"] != "critical"
    assert sum(c["human"] for c in checks.values()) == 0
    assert report["pofilter"]["machine_per_100"] == pytest.approx(100 * 3 / 4)
    assert report["pofilter"]["machine_critical_per_100"] == pytest.approx(100 * 2 / 4)
    assert report["pofilter"]["human_per_100"] == 0
    # Only the first entry and the bracket one (no spans) hold their source's
    # spans; the tag and the plural count were lost.
    spans = report["spans"]
    assert spans["filled_exact"] == pytest.approx(2 / 4)
    assert (spans["entries_with_spans"], spans["filled_with_spans"]) == (3, 3)
    assert spans["filled_with_spans_exact"] == pytest.approx(1 / 3)
    assert spans["human_with_spans_exact"] == 1.0
    assert report["scores"]["filled_copy"]["sentences"] == 4
    assert report["scores"]["all_model_else_source"]["sentences"] == 5

    # msgfmt judges fuzzy entries only with --use-fuzzy: the renamed count of
    # the fuzzy plural entry is its one error.
    check = format_safety.msgfmt_check(filled)
    assert not check["passed"] and len(check["errors"]) == 1, check
    assert format_safety.msgfmt_check(human)["passed"]


def test_scores_per_band_of_the_memory_match_similarity(format_safety, tmp_path):
    """Two models compare where the memory has something close and where not."""
    from translate.memory import TranslationMemory

    human, filled = tmp_path / "de.human.po", tmp_path / "de.filled.po"
    human.write_text(HUMAN, encoding="utf-8")
    filled.write_text(FILLED, encoding="utf-8")
    memory = TranslationMemory(["Hello %(name)s", "Nothing to do today", "Weather report"],
                               ["Hallo %(name)s", "Heute nichts zu tun", "Wetterbericht"])
    records = format_safety.entry_records(human, filled, catalog="hand-made", memory=memory)
    similarity = {r["msgid"]: r["memory_similarity"] for r in records}
    assert similarity["Hello %(name)s"] == 1.0
    assert 0.5 <= similarity["Nothing to do"] < 1.0
    assert similarity["Save (now)"] < 0.5

    bands = {row["band"]: row for row in format_safety.summarize(records)["bands"]}
    assert sum(row["sentences"] for row in bands.values()) == len(records)
    # The exact match's band holds the model's right translation only; the
    # unfilled entry is scored as its source, as copying is.
    assert bands["0.90-1.00"]["model_else_source"]["chrf"] == pytest.approx(100)
    low = [row for name, row in bands.items() if name != "0.90-1.00"]
    assert any(row["copy"]["chrf"] < row["model_else_source"]["chrf"] for row in low)
    without = format_safety.entry_records(human, filled, catalog="hand-made")
    assert format_safety.summarize(without)["bands"] is None


def test_reads_the_summary_translate_po_prints(format_safety, monkeypatch, capsys):
    # What `translate po` prints (translate/cli.py), for a known summary.
    from translate import cli
    from translate.localize import fill
    from translate.localize.summary import FillSummary

    summary = FillSummary(entries=9, translated=2, untranslated=7, from_memory=2,
                          from_model=3, kept_placeholders=1, kept_empty=1,
                          memory_threshold=0.8, catalog="a.po", out="b.po",
                          model="translator/1 (serving_default)")
    monkeypatch.setattr(fill, "fill_po", lambda *args, **kwargs: summary)
    assert cli.main(["po", "a.po", "--model", "m", "--out", "b.po", "--memory", "c"]) == 0
    parsed = format_safety.parse_po_summary(capsys.readouterr().out)
    assert (parsed["filled"], parsed["untranslated"], parsed["from_memory"],
            parsed["from_model"], parsed["memory_threshold"]) == (5, 7, 2, 3, 0.8)
    assert sum(parsed["kept"].values()) == 2, parsed["kept"]


def test_extra_training_pairs_come_from_packages_never_held_out(format_safety, tmp_path):
    """benchmarks/web_catalogs.py: what it would add to a training corpus."""
    import heldout
    import web_catalogs

    held_out = {p.name for packages in heldout.SETS.values() for p in packages}
    assert web_catalogs.held_out_names() == held_out
    assert not held_out & {p.name for p in web_catalogs.PACKAGES}
    extra = textwrap.dedent('''
        #, fuzzy
        msgid "Draft %s"
        msgstr "Entwurf %s"

        msgid "Not yet %s"
        msgstr ""

        msgid "Two\\n"
        "lines"
        msgstr "Zwei\\n"
        "Zeilen"

        #~ msgid "Gone %s"
        #~ msgstr "Weg %s"
        ''')
    wheel = tmp_path / "app-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as z:
        z.writestr("app/locale/de/LC_MESSAGES/django.po", HUMAN + extra)
        z.writestr("app/locale/fr/LC_MESSAGES/django.po", HUMAN)
    found, paths = web_catalogs.pairs(wheel)
    assert paths == ["app/locale/de/LC_MESSAGES/django.po"]
    assert found == [("Hello %(name)s", "Hallo %(name)s"),
                     ('Read <a href="%(url)s">the guide</a>',
                      'Lies <a href="%(url)s">die Anleitung</a>'),
                     ("Save (now)", "Speichern (jetzt)"),
                     ("%(count)s file", "%(count)s Datei"),
                     ("Nothing to do", "Nichts zu tun"),
                     ("Two lines", "Zwei Zeilen")]


def test_held_out_sets_take_german_catalogs_and_their_translated_messages(format_safety,
                                                                          tmp_path):
    import heldout

    extra = textwrap.dedent('''
        #, fuzzy
        msgid "Draft %s"
        msgstr "Entwurf %s"

        msgid "Not yet %s"
        msgstr ""

        #~ msgid "Gone %s"
        #~ msgstr "Weg %s"
        ''')
    wheel = tmp_path / "app-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as z:
        z.writestr("app/locale/de/LC_MESSAGES/django.po", HUMAN + extra)
        z.writestr("app/locale/de_DE/LC_MESSAGES/django.po", HEADER)
        z.writestr("app/locale/fr/LC_MESSAGES/django.po", HEADER)
        z.writestr("app/modules/sale/locale/de.po", HEADER)  # Tryton's layout
    members = [name for name, _ in heldout.german_catalogs(wheel)]
    assert members == ["app/locale/de/LC_MESSAGES/django.po", "app/modules/sale/locale/de.po"]

    catalog = tmp_path / "django.po"
    catalog.write_text(HUMAN + extra, encoding="utf-8")
    record, overlap = heldout.catalog_record(catalog, "spans", {"Hello %(name)s"})
    # Translated and with a placeholder or a tag: not "Save (now)", "Nothing
    # to do", nor the fuzzy, untranslated and obsolete ones.
    assert record == {"entries": 7, "translated": 5, "fuzzy": 1, "selected": 3,
                      "training_overlap": 1}
    assert overlap == ["Hello %(name)s"]

    human, blank = tmp_path / "de.human.po", tmp_path / "de.blank.po"
    assert format_safety.blank_catalogs(catalog, "all", human, blank) == 5
    assert [e.msgstr or e.msgstr_plural for e in polib.pofile(str(human))][-1] == "Nichts zu tun"
    blanked = polib.pofile(str(blank))
    assert len(blanked) == 5 and not blanked.translated_entries()
    assert [e.msgid for e in blanked] == [e.msgid for e in polib.pofile(str(human))]
