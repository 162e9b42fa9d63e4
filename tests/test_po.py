"""`translate po`: a gettext catalog's untranslated messages filled through an
exported model (and the translation memory), everything else kept."""

import difflib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest

from translate import checks, cli, exported, signatures
from translate.localize import catalogs, fill, splice, suggestions
from translate.evaluation import read_tsv_pairs
from translate.memory import TranslationMemory

ROOT = Path(__file__).resolve().parents[1]
ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
MSGFMT = shutil.which("msgfmt")

# A catalog as the gettext tools write it, with one of everything: header,
# comments, a translated, a fuzzy and an obsolete entry, contexts,
# placeholders, plurals, an escape polib does not know (\a, from bash's
# catalog) and strings wrapped at gettext's width rather than polib's.
RICH_PO = r"""# German translation of demo.
# Copyright (C) 2024 The demo authors.
#
msgid ""
msgstr ""
"Project-Id-Version: demo 1.0\n"
"Language: de\n"
"MIME-Version: 1.0\n"
"Content-Type: text/plain; charset=UTF-8\n"
"Content-Transfer-Encoding: 8bit\n"
"Plural-Forms: nplurals=2; plural=(n != 1);\n"
"X-Bugs: Report translation errors to the Language-Team address.\n"

#. TRANSLATORS: a path
#: src/main.c:10
#, c-format
msgid "Could not open file %s"
msgstr "Datei %s konnte nicht geöffnet werden"

#, fuzzy, python-brace-format
#| msgid "Deleted {n} items"
msgid "Deleted {count} items"
msgstr "{count} Elemente gelöscht"

# Keep it short.
#: src/ui.c:3
msgid "Printer"
msgstr ""

msgctxt "menu"
msgid "Open"
msgstr ""

msgctxt "verb"
msgid "Open"
msgstr ""

#, c-format
msgid "Saving %s to %s"
msgstr ""

msgid "Usage: demo [OPTION]\n"
msgstr ""

#, c-format
msgid "%d file"
msgid_plural "%d files"
msgstr[0] ""
msgstr[1] ""

msgid "One key"
msgid_plural "%d keys"
msgstr[0] "Ein Schlüssel"
msgstr[1] ""

msgid "\atimed out waiting for input: auto-logout\n"
msgstr "\aZu lange keine Eingabe: Automatisch ausgeloggt.\n"

msgid ""
"A long message that the gettext tools wrapped at their own width, not at "
"polib's."
msgstr ""
"Eine lange Nachricht, die die gettext-Werkzeuge in ihrer eigenen Breite "
"umbrochen haben."

#~ msgid "Old message"
#~ msgstr "Alte Nachricht"
"""
METADATA = {
    "Project-Id-Version": "demo 1.0",
    "Language": "de",
    "MIME-Version": "1.0",
    "Content-Type": "text/plain; charset=UTF-8",
    "Content-Transfer-Encoding": "8bit",
    "Plural-Forms": "nplurals=2; plural=(n != 1);",
    "X-Bugs": "Report translation errors to the Language-Team address.",
}
HEADER = "German translation of demo.\nCopyright (C) 2024 The demo authors.\n"
PLURAL_FORMS = '"Plural-Forms: nplurals=2; plural=(n != 1);\\n"\n'

# What the fake model answers; "Saving %s to %s" loses a placeholder.
FAKE = {
    "Printer": "Drucker",
    "Open": "Öffnen",
    "Saving %s to %s": "%s wird gespeichert",
    "Usage: demo [OPTION]": "Aufruf: demo [OPTION]",
    "%d file": "%d Datei",
    "%d files": "%d Dateien",
}
UNTOUCHED = ("Could not open file %s", "Deleted {count} items", "One key", "Old message",
             # polib reads "\a" as a backslash and an "a".
             "\\atimed out waiting for input: auto-logout\n",
             "A long message that the gettext tools wrapped at their own width, not at "
             "polib's.")
FILLED = ("Printer", "Open", "Usage: demo [OPTION]\n", "%d file")


def rich_text(charset="UTF-8", plural_forms=None, newline="\n"):
    """RICH_PO in another charset, with other plural forms or line endings."""
    text = RICH_PO.replace("charset=UTF-8", f"charset={charset}")
    if plural_forms is not None:
        text = text.replace(PLURAL_FORMS, f'"Plural-Forms: {plural_forms}\\n"\n'
                            if plural_forms else "")
    return text.replace("\n", newline)


def write_rich_catalog(path, charset="UTF-8", **kwargs):
    path.write_bytes(rich_text(charset, **kwargs).encode(charset))
    return path


def rich_catalog(charset="UTF-8", **kwargs):
    return polib.pofile(rich_text(charset, **kwargs), encoding=charset)


class FakeModel:
    """A deterministic stand-in for the model; records what it was asked.

    It cleans whitespace as an export written before issue 13 does (runs of
    whitespace one space, the ends stripped) before it looks a message up.
    """

    def __init__(self, answers=FAKE):
        self.answers = answers
        self.calls = []

    def __call__(self, sentences):
        self.calls.append(list(sentences))
        return [self.answers[" ".join(s.split())] for s in sentences]


def entry(catalog, msgid, msgctxt=None):
    found = [e for e in catalog if e.msgid == msgid and e.msgctxt == msgctxt]
    assert len(found) == 1, msgid
    return found[0]


def changed_lines(before, after):
    """The lines removed from `before` and added in `after` (difflib)."""
    diff = list(difflib.ndiff(before.splitlines(), after.splitlines()))
    return ([line[2:] for line in diff if line.startswith("- ")],
            [line[2:] for line in diff if line.startswith("+ ")])


def msgfmt_check(path):
    if MSGFMT is None:
        return
    checked = subprocess.run([MSGFMT, "--check", "-o", os.devnull, str(path)],
                             capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr


def test_fill_catalog_fills_flags_and_comments_and_keeps_the_rest():
    catalog = rich_catalog()
    before = {(e.msgctxt, e.msgid, e.obsolete): str(e) for e in catalog}
    model = FakeModel()
    summary = fill.fill_catalog(catalog, model, model_label="fake/1 (serving_default)")

    assert model.calls == [["Printer", "Open", "Saving %s to %s", "Usage: demo [OPTION]\n",
                            "%d file", "%d files"]], "one call, each message once, as written"
    assert (summary.entries, summary.translated, summary.fuzzy, summary.untranslated) == (
        11, 3, 1, 6)
    assert (summary.from_model, summary.from_memory, summary.plurals) == (5, 0, 1)
    assert (summary.kept_placeholders, summary.kept_empty, summary.kept_unwritable) == (
        1, 0, 0)
    assert summary.partial_plurals == 1 and summary.filled == 5
    assert [e.msgid for e in summary.filled_entries] == [
        "Printer", "Open", "Open", "Usage: demo [OPTION]\n", "%d file"]
    assert "filled_entries" not in summary.as_dict() and summary.as_dict()["filled"] == 5
    assert summary.placeholder_msgids == ["Saving %s to %s"]
    assert summary.memory_threshold is None

    comment = "machine translation: model gru-keras fake/1 (serving_default)"
    printer = entry(catalog, "Printer")
    assert printer.msgstr == "Drucker" and printer.fuzzy
    assert printer.tcomment == "Keep it short.\n" + comment, "the old comment kept first"
    assert printer.occurrences == [("src/ui.c", "3")]
    for context in ("menu", "verb"):
        opened = entry(catalog, "Open", context)
        assert (opened.msgstr, opened.tcomment, opened.flags) == ("Öffnen", comment, ["fuzzy"])
    usage = entry(catalog, "Usage: demo [OPTION]\n")
    assert usage.msgstr == "Aufruf: demo [OPTION]\n", "the final newline carried over"
    plural = entry(catalog, "%d file")
    assert plural.msgstr_plural == {0: "%d Datei", 1: "%d Dateien"}
    assert plural.flags == ["fuzzy", "c-format"] and plural.tcomment == comment
    saving = entry(catalog, "Saving %s to %s")
    assert saving.msgstr == "" and not saving.fuzzy and saving.tcomment == "", \
        "a translation that loses a placeholder is not written"
    assert str(saving) == before[(None, "Saving %s to %s", False)]
    for msgid in UNTOUCHED:
        (kept,) = [e for e in catalog if e.msgid == msgid]
        assert str(kept) == before[(kept.msgctxt, kept.msgid, kept.obsolete)]
    assert catalog.header == HEADER and catalog.metadata == METADATA


FILLED_PO = RICH_PO.replace("""# Keep it short.
#: src/ui.c:3
msgid "Printer"
msgstr ""
""", """# Keep it short.
# machine translation: model gru-keras fake/1 (serving_default)
#: src/ui.c:3
#, fuzzy
msgid "Printer"
msgstr "Drucker"
""").replace("""msgctxt "menu"
msgid "Open"
msgstr ""
""", """# machine translation: model gru-keras fake/1 (serving_default)
#, fuzzy
msgctxt "menu"
msgid "Open"
msgstr "Öffnen"
""").replace("""msgctxt "verb"
msgid "Open"
msgstr ""
""", """# machine translation: model gru-keras fake/1 (serving_default)
#, fuzzy
msgctxt "verb"
msgid "Open"
msgstr "Öffnen"
""").replace("""msgid "Usage: demo [OPTION]\\n"
msgstr ""
""", """# machine translation: model gru-keras fake/1 (serving_default)
#, fuzzy
msgid "Usage: demo [OPTION]\\n"
msgstr "Aufruf: demo [OPTION]\\n"
""").replace("""#, c-format
msgid "%d file"
msgid_plural "%d files"
msgstr[0] ""
msgstr[1] ""
""", """# machine translation: model gru-keras fake/1 (serving_default)
#, fuzzy, c-format
msgid "%d file"
msgid_plural "%d files"
msgstr[0] "%d Datei"
msgstr[1] "%d Dateien"
""")


@pytest.mark.parametrize("charset,newline", [("UTF-8", "\n"), ("ISO-8859-1", "\r\n")])
def test_written_catalog_changes_only_the_filled_entries(tmp_path, charset, newline):
    source = write_rich_catalog(tmp_path / "de.po", charset, newline=newline)
    catalog = catalogs.read_catalog(source)
    summary = fill.fill_catalog(catalog, FakeModel(), model_label="fake/1 (serving_default)")
    splice.write_filled(source, catalog, summary.filled_entries, tmp_path / "out.po")

    expected = FILLED_PO.replace("charset=UTF-8", f"charset={charset}")
    assert FILLED_PO.count("machine translation") == 5, "the test's own expectation"
    assert (tmp_path / "out.po").read_bytes() == expected.replace("\n", newline).encode(charset)
    msgfmt_check(tmp_path / "out.po")


def test_a_last_entry_without_a_final_newline_is_filled(tmp_path):
    source = tmp_path / "de.po"
    source.write_text('msgid "a"\nmsgstr "b"\n\n# note\nmsgid "Printer"\nmsgstr ""',
                      encoding="utf-8")
    catalog = catalogs.read_catalog(source)
    summary = fill.fill_catalog(catalog, FakeModel(), model_label="fake/1")
    splice.write_filled(source, catalog, summary.filled_entries, tmp_path / "out.po")
    assert (tmp_path / "out.po").read_text(encoding="utf-8") == (
        'msgid "a"\nmsgstr "b"\n\n# note\n# machine translation: model gru-keras fake/1\n'
        '#, fuzzy\nmsgid "Printer"\nmsgstr "Drucker"')


def test_an_edit_that_does_not_parse_back_is_not_written(tmp_path, monkeypatch):
    source = write_rich_catalog(tmp_path / "de.po")
    catalog = catalogs.read_catalog(source)
    summary = fill.fill_catalog(catalog, FakeModel(), model_label="fake/1")
    monkeypatch.setattr(splice, "splice", lambda text, *args: text)
    with pytest.raises(RuntimeError, match="does not parse back"):
        splice.write_filled(source, catalog, summary.filled_entries, tmp_path / "out.po")
    assert not (tmp_path / "out.po").exists()


@pytest.mark.parametrize("plural_forms,expected", [
    ("nplurals=1; plural=0;", {0: "%d Dateien"}),
    ("nplurals=3; plural=(n==1 ? 0 : n%10>=2 && n%10<=4 ? 1 : 2);",
     {0: "%d Datei", 1: "%d Dateien", 2: "%d Dateien"}),
    ("", {0: "%d Datei", 1: "%d Dateien"}),  # no Plural-Forms: gettext's default
])
def test_plural_forms_follow_the_header(plural_forms, expected):
    catalog = rich_catalog(plural_forms=plural_forms)
    fill.fill_catalog(catalog, FakeModel(), model_label="fake/1")
    assert entry(catalog, "%d file").msgstr_plural == expected
    assert catalogs.nplurals(catalog) == len(expected)


def test_a_plural_form_that_loses_its_placeholder_keeps_the_entry_untranslated():
    catalog = rich_catalog()
    summary = fill.fill_catalog(catalog, FakeModel(dict(FAKE, **{"%d files": "Dateien"})),
                                model_label="fake/1")
    assert entry(catalog, "%d file").msgstr_plural == {0: "", 1: ""}
    assert summary.kept_placeholders == 2 and summary.plurals == 0
    assert summary.placeholder_msgids == ["Saving %s to %s", "%d file"]


def test_added_placeholders_empty_and_unwritable_translations_are_kept_out():
    catalog = rich_catalog(charset="ISO-8859-1")
    answers = dict(FAKE, **{"Printer": "Drucker %s", "Open": "  ", "Usage: demo [OPTION]":
                            "Aufruf: demo [OPTION] \u20ac", "%d files": "%d Dat\x07eien"})
    summary = fill.fill_catalog(catalog, FakeModel(answers), model_label="fake/1")
    assert (summary.kept_placeholders, summary.kept_empty, summary.kept_unwritable) == (
        2, 2, 2), "€ is not in ISO-8859-1; a bell character is no text"
    assert summary.from_model == 0
    assert entry(catalog, "Printer").msgstr == "" and entry(catalog, "Open", "menu").msgstr == ""


def test_memory_match_comes_first_with_its_similarity():
    tm = TranslationMemory(["Printer", "Saving %s to %s", "Opening"],
                           ["Drucker (Speicher)", "%s wird in %s gespeichert", "Wird geöffnet"])
    catalog = rich_catalog()
    model = FakeModel()
    summary = fill.fill_catalog(catalog, model, model_label="fake/1", memory=tm, threshold=0.99)
    assert summary.from_memory == 2 and summary.memory_threshold == 0.99
    assert summary.kept_placeholders == 0, "the memory's translation keeps both %s"
    printer = entry(catalog, "Printer")
    assert printer.msgstr == "Drucker (Speicher)" and printer.fuzzy
    assert printer.tcomment == "Keep it short.\nmachine translation: memory, similarity 1.00"
    assert entry(catalog, "Saving %s to %s").msgstr == "%s wird in %s gespeichert"
    assert "Printer" not in model.calls[0] and "Saving %s to %s" not in model.calls[0]
    assert entry(catalog, "Open", "menu").msgstr == "Öffnen", "below the threshold: model"

    catalog = rich_catalog()
    fill.fill_catalog(catalog, FakeModel(), model_label="fake/1", memory=tm, threshold=0.3)
    opened = entry(catalog, "Open", "menu")
    assert opened.msgstr == "Wird geöffnet"
    similarity = float(opened.tcomment.rsplit(" ", 1)[1])
    assert 0.3 <= similarity < 1.0, "a near match shows a similarity below 1.00"
    with pytest.raises(ValueError, match="threshold"):
        fill.fill_catalog(rich_catalog(), FakeModel(), model_label="fake/1", memory=tm)


def test_a_translation_function_that_returns_too_few_is_an_error():
    with pytest.raises(ValueError, match="returned 1 translations for 6 messages"):
        fill.fill_catalog(rich_catalog(), lambda sentences: ["x"], model_label="fake/1")


def test_nothing_to_translate_calls_no_model():
    catalog = polib.POFile()
    catalog.append(polib.POEntry(msgid="a", msgstr="b"))
    summary = fill.fill_catalog(catalog, FakeModel({}), model_label="fake/1")
    assert summary.untranslated == 0 and summary.filled == 0


def test_resolve_export_takes_a_version_or_the_highest_version(tmp_path):
    for version in ("1", "2", "10", ".11.tmp", "abc"):
        (tmp_path / "m" / version).mkdir(parents=True)
        (tmp_path / "m" / version / "saved_model.pb").write_bytes(b"")
    (tmp_path / "m" / "12").mkdir()  # no saved_model.pb: not a version
    assert signatures.resolve_export(tmp_path / "m") == tmp_path / "m" / "10"
    assert signatures.resolve_export(tmp_path / "m" / "2") == tmp_path / "m" / "2"
    with pytest.raises(FileNotFoundError, match="numbered versions"):
        signatures.resolve_export(tmp_path)
    with pytest.raises(FileNotFoundError, match="not found"):
        signatures.resolve_export(tmp_path / "missing")


def test_fill_po_through_the_real_export_keeps_the_placeholder_rule(tiny_export, tmp_path):
    catalog = write_rich_catalog(tmp_path / "de.po")
    summary = fill.fill_po(catalog, tiny_export / "models" / "translator", tmp_path / "out.po")
    assert summary.model == "translator/1 (translate_n_best)"
    assert summary.out == str(tmp_path / "out.po") and summary.catalog == str(catalog)
    assert summary.untranslated == 6 and summary.filled + summary.kept == 6
    assert summary.checks == list(checks.DEFAULT_CHECKS), "the checks run by default"

    model = exported.ExportedModel(tiny_export / "models" / "translator" / "1")
    assert model.has_n_best and model.n_best_label == summary.model
    written = polib.pofile(str(tmp_path / "out.po"))
    checker = checks.Checker("de")
    for source in (e for e in rich_catalog() if e.msgid not in UNTOUCHED):
        filled = entry(written, source.msgid, source.msgctxt)
        msgids = [source.msgid, source.msgid_plural] if source.msgid_plural else [source.msgid]
        # The model sees each message as written (the export masks its spans).
        hypotheses = model.n_best(msgids, with_format=True)
        firsts = [suggestions.dress(m, h[0][0]) for m, h in zip(msgids, hypotheses)]
        fits = all(suggestions.problem(m, t, "utf-8", ok) is None and not failed
                   for m, t, ok, failed in zip(msgids, firsts, [h[0][1] for h in hypotheses],
                                               checker.failures(zip(msgids, firsts))))
        got = list(filled.msgstr_plural.values()) if source.msgid_plural else [filled.msgstr]
        if fits:
            assert got == firsts and filled.fuzzy
            assert filled.tcomment.endswith(
                "machine translation: model gru-keras translator/1 (translate_n_best)")
        elif filled.fuzzy:  # a later hypothesis passed: it is one of the model's
            assert all(g in [suggestions.dress(m, t) for t, _ in h]
                       for g, m, h in zip(got, msgids, hypotheses))
        else:
            assert str(filled) == str(source), "left exactly as it was"
    for msgid in UNTOUCHED:
        (kept,) = [e for e in written if e.msgid == msgid]
        (old,) = [e for e in rich_catalog() if e.msgid == msgid]
        assert str(kept) == str(old)
    removed, added = changed_lines(RICH_PO, (tmp_path / "out.po").read_text(encoding="utf-8"))
    assert all(line.startswith(("msgstr", "#,")) for line in removed), removed
    assert all(line.startswith(("msgstr", '"', "#,", "# machine translation: "))
               for line in added), added
    assert len([line for line in added if line.startswith("# machine")]) == summary.filled
    msgfmt_check(tmp_path / "out.po")


def test_fill_po_with_memory_uses_an_exact_match(tiny_export, tmp_path):
    sources, targets = read_tsv_pairs(tiny_export / "corpus" / "train.tsv")
    catalog = polib.POFile()
    catalog.metadata = {"Content-Type": "text/plain; charset=UTF-8"}
    catalog.append(polib.POEntry(msgid=sources[0], msgstr=""))
    catalog.append(polib.POEntry(msgid="Printer", msgstr=""))
    catalog.save(str(tmp_path / "de.po"))
    summary = fill.fill_po(tmp_path / "de.po", tiny_export / "models" / "translator" / "1",
                           tmp_path / "out.po", memory_corpus=tiny_export / "corpus",
                           memory_threshold=1.0, signature="translate_greedy")
    assert summary.from_memory == 1 and summary.memory_threshold == 1.0
    assert summary.model == "translator/1 (translate_greedy)"
    written = polib.pofile(str(tmp_path / "out.po"))
    assert written[0].msgstr == targets[0] and written[0].fuzzy
    assert written[0].tcomment == "machine translation: memory, similarity 1.00"


def test_in_place_is_atomic_and_keeps_the_file_mode(tiny_export, tmp_path, monkeypatch):
    catalog = write_rich_catalog(tmp_path / "de.po")
    os.chmod(catalog, 0o640)
    original = catalog.read_bytes()
    export_dir = tiny_export / "models" / "translator"

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        fill.fill_po(catalog, export_dir, catalog)
    monkeypatch.undo()
    assert catalog.read_bytes() == original, "a failed write leaves the catalog as it was"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["de.po"], "no temporary file left"

    fill.fill_po(catalog, export_dir, catalog)
    assert catalog.read_bytes() != original
    assert sorted(p.name for p in tmp_path.iterdir()) == ["de.po"]
    assert catalog.stat().st_mode & 0o777 == 0o640


def test_catalog_from_tsv_writes_empty_translations(tmp_path):
    tsv = tmp_path / "test.tsv"
    tsv.write_text("Open\tÖffnen\nSave %s\t%s speichern\nOpen\tAuf\n"
                   'Say "hi" \\ bye\tSag "hallo"\nFourth\tVierte\n', encoding="utf-8")
    count = catalogs.catalog_from_tsv(tsv, tmp_path / "test.po", limit=3, references=True,
                                      language="de")
    assert count == 3
    catalog = polib.pofile(str(tmp_path / "test.po"))
    assert [e.msgid for e in catalog] == ["Open", "Save %s", 'Say "hi" \\ bye'], \
        "the repeated source left out, quotes and backslashes kept"
    assert all(e.msgstr == "" for e in catalog) and len(catalog.untranslated_entries()) == 3
    assert catalog[1].occurrences == [("test.tsv", "2")]
    assert catalog[1].comment == "reference: %s speichern"
    assert catalog.metadata["Language"] == "de"
    assert "charset=UTF-8" in catalog.metadata["Content-Type"]
    msgfmt_check(tmp_path / "test.po")

    assert catalogs.catalog_from_tsv(tsv, tmp_path / "all.po") == 4
    assert all(e.comment == "" for e in polib.pofile(str(tmp_path / "all.po")))
    for limit in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="limit"):
            catalogs.catalog_from_tsv(tsv, tmp_path / "x.po", limit=limit)
    with pytest.raises(FileNotFoundError):
        catalogs.catalog_from_tsv(tmp_path / "missing.tsv", tmp_path / "x.po")


def test_cli_errors_name_the_file_and_exit_2(tiny_export, tmp_path, capsys):
    export_dir = str(tiny_export / "models" / "translator")
    bad = tmp_path / "bad.po"
    bad.write_text('msgid "a"\nmsgstr "b"\n\nmsgid "c"\nthis is not po\n', encoding="utf-8")
    good = write_rich_catalog(tmp_path / "de.po")
    cases = [
        (["po", str(bad), "--model", export_dir, "--out", str(tmp_path / "o.po")],
         "bad.po:5: not a valid .po catalog"),
        (["po", str(tmp_path / "missing.po"), "--model", export_dir, "--in-place"],
         "missing.po: no such catalog"),
        (["po", str(good), "--model", str(tmp_path / "nowhere"), "--in-place"],
         "exported model"),
        (["po", str(good), "--model", export_dir, "--in-place", "--signature",
          "serving_default", "--batch-size", "0"], "batch_size must be at least 1"),
        (["po", str(good), "--model", export_dir, "--in-place", "--memory-threshold", "0.5",
          "--no-catalog-memory"], "a memory threshold was given without a memory"),
        (["po", str(good), "--model", export_dir, "--in-place", "--memory-po", str(bad)],
         "bad.po:5: not a valid .po catalog"),
    ]
    for argv, message in cases:
        assert cli.main(argv) == 2
        err = capsys.readouterr().err
        assert err.startswith("translate po: error: ") and message in err, err
    assert not (tmp_path / "o.po").exists()
    with pytest.raises(SystemExit) as exit_info:  # neither --out nor --in-place
        cli.main(["po", str(good), "--model", export_dir])
    assert exit_info.value.code == 2
    assert "one of the arguments --out --in-place is required" in capsys.readouterr().err
    for option in (["po", str(good), "--model", export_dir, "--in-place", "--memory",
                    str(tiny_export / "corpus"), "--memory-threshold", "1.5"],
                   ["client", "--min-match-similarity", "-0.1"]):
        with pytest.raises(SystemExit) as exit_info:  # a similarity outside 0..1
            cli.main(option)
        assert exit_info.value.code == 2
        assert "expected a similarity from 0 to 1" in capsys.readouterr().err


def test_the_console_command_ends_at_once_with_its_status_and_output(tmp_path):
    # `translate po` leaves by os._exit (no teardown of TensorFlow): its status
    # and every line it printed still come through.
    result = subprocess.run(
        [sys.executable, "-m", "translate", "po", str(tmp_path / "missing.po"), "--model",
         str(tmp_path), "--out", str(tmp_path / "o.po")],
        cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=300)
    assert result.returncode == 2
    assert result.stderr.startswith("translate po: error: ") and "missing.po" in result.stderr


def test_cli_fills_with_memory_and_a_dev_chosen_threshold_chosen_once(tiny_export, tmp_path):
    sources, targets = read_tsv_pairs(tiny_export / "corpus" / "train.tsv")
    catalog = rich_catalog()
    catalog.append(polib.POEntry(msgid=sources[1], msgstr=""))
    catalog.save(str(tmp_path / "de.po"))
    cache = tmp_path / "cache"

    def fill(out):
        result = subprocess.run(
            [sys.executable, "-m", "translate", "po", str(tmp_path / "de.po"), "--model",
             str(tiny_export / "models" / "translator"), "--memory",
             str(tiny_export / "corpus"), "--out", str(out), "--batch-size", "4"],
            cwd=ROOT, env=dict(ENV, TRANSLATE_CACHE_DIR=str(cache)), capture_output=True,
            text=True, timeout=300)
        assert result.returncode == 0, result.stderr[-3000:]
        return result.stdout

    first = fill(tmp_path / "out.po")
    assert re.search(r"untranslated messages as fuzzy \([0-9]+ from the catalog memory, "
                     r"[1-9][0-9]* from the corpus memory", first), first
    assert "(chosen on the memory's dev split)" in first and "kept untranslated: " in first
    # The threshold is chosen once per export and memory corpus, then read back.
    assert len(json.loads((cache / "memory_thresholds.json").read_text())) == 1
    second = fill(tmp_path / "again.po")
    threshold = re.search(r"memory threshold: ([0-9.]+)", first).group(1)
    assert f"memory threshold: {threshold} (cached)" in second, second
    assert (tmp_path / "again.po").read_bytes() == (tmp_path / "out.po").read_bytes()
    written = polib.pofile(str(tmp_path / "out.po"))
    matched = entry(written, sources[1])
    assert matched.msgstr == targets[1]
    assert matched.tcomment == "machine translation: memory, similarity 1.00"
    assert (tmp_path / "de.po").read_bytes() != (tmp_path / "out.po").read_bytes()
