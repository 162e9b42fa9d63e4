"""`translate po` with checks: the first hypothesis that passes is written,
memory matches are checked too, and pofilter itself finds nothing critical in
what was filled."""

import os
import shutil
import subprocess
from pathlib import Path

import polib
import pytest

from translate import checks, cli, exported, toolkit
from translate.localize import catalogs, fill, splice, suggestions
from translate.memory import TranslationMemory

DATA = Path(__file__).resolve().parent / "data"
FIXTURE = DATA / "format_safety.po"
MSGFMT = shutil.which("msgfmt")

# The fake model's hypotheses, best first, for each message it is given (as
# written, the accelerator removed): broken ones first where a later one is
# right, and three messages with no right one.
HYPOTHESES = {
    '<a href="mailto:%(email)s">Write to us</a>': [
        '<a href="mailto:%(email)s">Schreiben Sie uns',  # the closing tag lost
        '<a href="mailto:%(email)s">Schreiben Sie uns</a>'],
    "Thank you for using %(site_name)s!\n%(site_domain)s": [
        "Danke, dass Sie %(site_name)s nutzen! %(site_domain)s",  # on one line
        "Danke, dass Sie %(site_name)s nutzen!\n%(site_domain)s"],
    "Deleted {count} items in {0} folders": [
        "{count} Elemente in {1} Ordnern gelöscht",
        "{count} Elemente in {0} Ordnern gelöscht"],
    "Could not open file %s: %s\n": [
        "Datei %s konnte nicht geöffnet werden: %s"],  # the final \n is put back
    "%1$s of %2$d": ["%1$s von %2$s", "%1$s von"],  # none passes
    "Name:\t%s": ["Name: %s", "Name:  %s", "Name:\t%s"],
    "Usage: demo [OPTION]... [FILE]\nPrint the FILE to standard output.\n": [
        "Aufruf: demo [OPTION]... [DATEI] Die DATEI auf die Standardausgabe ausgeben.",
        "Aufruf: demo [OPTION]... DATEI\nDie DATEI ausgeben."],  # none passes
    "File": ["Datei"],
    "Exit": ["Beenden"],
    "Open Recent": ["Zuletzt geöffnet"],
    "See https://example.org/docs or write to help@example.org.": [
        "Siehe https://example.org/doku oder schreiben Sie an help@example.org.",
        "Siehe https://example.org/docs oder schreiben Sie an hilfe@example.org.",
        "Siehe https://example.org/docs oder schreiben Sie an help@example.org."],
    "Save &amp; close<br/>": ["Speichern und schließen", "Speichern &amp; schließen<br/>"],
    "Using ${prefix} and $HOME with @GPG@": [
        "${prefix} und HOME mit @GPG@ verwenden", "${prefix} und $HOME mit @GPG@ verwenden"],
    "Wait 30 seconds (or press Esc).": [
        "Warten Sie dreißig Sekunden (oder drücken Sie Esc)."],  # none passes
    "  Ready: ": ["Bereit:"],
    "Write \\n for a line break": [
        "Schreiben Sie n für einen Zeilenumbruch", "Schreiben Sie \\n für einen Zeilenumbruch"],
    "%d file": ["%d Datei"],
    "%d files": ["Dateien", "%d Dateien"],
}
KEPT = {"%1$s of %2$d", "Wait 30 seconds (or press Esc).",
        "Usage: demo [OPTION]... [FILE]\nPrint the FILE to standard output.\n"}
# Filled with a broken first hypothesis when nothing but the placeholder rule
# runs; each is a failure of one of pofilter's critical checks.
CRITICAL_WITHOUT_CHECKS = {
    '<a href="mailto:%(email)s">Write to us</a>': "xmltags",
    "Thank you for using %(site_name)s!\n%(site_domain)s": "newlines",
    "Name:\t%s": "tabs",
    "Usage: demo [OPTION]... [FILE]\nPrint the FILE to standard output.\n": "newlines",
    "Save &amp; close<br/>": "xmltags",
    "Write \\n for a line break": "escapes",
}
CRITICAL = sorted(checks.CRITICAL_CHECKS) + ["nplurals"]  # with pofilter's unit check


class FakeNBest:
    """The fake model: records the messages it is given."""

    def __init__(self, hypotheses=HYPOTHESES):
        self.hypotheses = hypotheses
        self.calls = []

    def __call__(self, sentences):
        self.calls.append(list(sentences))
        # Only the segments of a message of two lines (translate.localize.
        # segments) are unknown: none for them.
        return [self.hypotheses.get(s, []) for s in sentences]


@pytest.fixture(scope="module")
def checker():
    with checks.Checker("de", accelerator="_") as checker:
        yield checker


def fill_fixture(tmp_path, checker, name="out.po"):
    catalog = catalogs.read_catalog(FIXTURE)
    model = FakeNBest()
    summary = fill.fill_catalog(catalog, model_label="fake/1 (translate_n_best)",
                                translate_n_best=model, checker=checker, accelerator="_")
    out = tmp_path / name
    splice.write_filled(FIXTURE, catalog, summary.filled_entries, out)
    return summary, out, model


def pofilter(path, tmp_path):
    """The msgids `pofilter` reports with its critical checks, and which checks."""
    report = tmp_path / f"pofilter-{path.name}"
    tests = [arg for name in CRITICAL for arg in ("-t", name)]
    result = subprocess.run(toolkit.tool_command("pofilter", "--language=de", *tests,
                                                 str(path), str(report)),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    if not report.exists():
        return {}
    return {e.msgid: sorted(line.split(":")[0].removeprefix("(pofilter) ")
                            for line in e.tcomment.splitlines() if "(pofilter)" in line)
            for e in polib.pofile(str(report)) if e.msgid}


def msgfmt(path):
    """`msgfmt --check-format`, fuzzy entries included (else it skips them)."""
    result = subprocess.run([MSGFMT, "--check-format", "--use-fuzzy", "-o", os.devnull,
                             str(path)], capture_output=True, text=True)
    return result.returncode, result.stderr


def test_the_first_passing_hypothesis_is_written_and_the_rest_counted(tmp_path, checker):
    summary, out, model = fill_fixture(tmp_path, checker)
    assert model.calls == [list(HYPOTHESES) + [
        # and the segments of the message of two lines, translated in segments first
        "Usage: demo [OPTION]... [FILE]", "Print the FILE to standard output."]], \
        "each message and segment once, accelerators removed; no retry of those segments"
    assert (summary.untranslated, summary.translated, summary.fuzzy) == (17, 1, 1)
    assert summary.filled == summary.from_model == 14 and summary.fallbacks == 9
    assert (summary.kept_placeholders, summary.kept_failed_checks, summary.kept) == (1, 2, 3)
    assert summary.kept_checks == {"printf": 1, "newlines": 1, "numbers": 1}
    assert summary.check_msgids == [
        "Usage: demo [OPTION]... [FILE]\nPrint the FILE to standard output.\n",
        "Wait 30 seconds (or press Esc)."]
    assert summary.checks == list(checker.checks)

    written = {e.msgid: e for e in polib.pofile(str(out))}
    assert all(not written[msgid].msgstr and not written[msgid].fuzzy for msgid in KEPT)
    prefix = "machine translation: model gru-keras fake/1 (translate_n_best"
    assert written["Name:\t%s"].msgstr == "Name:\t%s"
    assert written["Name:\t%s"].tcomment == f"{prefix}, hypothesis 3 of 3)"
    assert written["Could not open file %s: %s\n"].msgstr == \
        "Datei %s konnte nicht geöffnet werden: %s\n"
    assert written["Could not open file %s: %s\n"].tcomment == f"{prefix})"
    assert written["%d file"].msgstr_plural == {0: "%d Datei", 1: "%d Dateien"}
    assert written["%d file"].tcomment == f"{prefix}, hypotheses 1, 2 of 2)"
    assert written["  Ready: "].msgstr == "  Bereit: "
    assert [written[m].msgstr for m in ("_File", "E_xit", "_Open Recent")] == [
        "_Datei", "_Beenden", "_Zuletzt geöffnet"]
    assert written["<b>Welcome</b>, %(name)s"].msgstr == "<b>Willkommen</b>, %(name)s"
    assert written["Log out"].tcomment == "", "a fuzzy entry is left alone"


def test_pofilter_finds_no_critical_failure_that_our_checks_let_through(tmp_path, checker):
    _, out, _ = fill_fixture(tmp_path, checker)
    assert pofilter(out, tmp_path) == {}

    # The same fill without the toolkit's checks: pofilter finds exactly the
    # broken first hypotheses that only the placeholder rule let through.
    _, unchecked, _ = fill_fixture(tmp_path, None, "unchecked.po")
    assert pofilter(unchecked, tmp_path) == {
        msgid: [check] for msgid, check in CRITICAL_WITHOUT_CHECKS.items()}


@pytest.mark.skipif(MSGFMT is None, reason="msgfmt (Debian's gettext package) is not installed")
def test_msgfmt_check_format_passes_on_the_filled_catalog(tmp_path, checker):
    _, out, _ = fill_fixture(tmp_path, checker)
    assert msgfmt(out) == (0, "")
    # It does see fuzzy entries: a broken one fails.
    broken = tmp_path / "broken.po"
    broken.write_text(out.read_text(encoding="utf-8").replace(
        'msgstr "Datei %s konnte nicht geöffnet werden: %s\\n"',
        'msgstr "Datei %d konnte nicht geöffnet werden: %s\\n"'), encoding="utf-8")
    code, said = msgfmt(broken)
    assert code != 0 and "format specifications" in said, said


def test_format_ok_false_rejects_a_hypothesis():
    catalog = polib.POFile()
    catalog.append(polib.POEntry(msgid="Open", msgstr=""))
    catalog.append(polib.POEntry(msgid="Close", msgstr=""))
    answers = {"Open": [("Öffnen?", False), ("Öffnen", True)], "Close": [("Schließen", False)]}
    summary = fill.fill_catalog(catalog, model_label="fake/1",
                                translate_n_best=lambda s: [answers[t] for t in s])
    assert catalog[0].msgstr == "Öffnen" and catalog[0].tcomment.endswith(
        "fake/1 (hypothesis 2 of 2)")
    assert catalog[1].msgstr == "" and summary.kept_format == 1 and summary.checks is None


def test_a_hypothesis_with_a_broken_character_is_not_written():
    # Byte pieces that stop short of a character decode to U+FFFD ("…" cut
    # off); neither pofilter nor msgfmt sees it, the translator would.
    catalog = polib.POFile()
    for msgid in ("Shutting down…", "Close", "Replace \ufffd by ?"):
        catalog.append(polib.POEntry(msgid=msgid, msgstr=""))
    answers = {"Shutting down…": [("Wird beendet\ufffd", True), ("Wird beendet …", True)],
               "Close": [("Schlie\ufffd\ufffden", True)],
               "Replace \ufffd by ?": [("\ufffd durch ? ersetzen", True)]}
    summary = fill.fill_catalog(catalog, model_label="fake/1",
                                translate_n_best=lambda s: [answers[t] for t in s])
    assert catalog[0].msgstr == "Wird beendet …", "the next hypothesis"
    assert catalog[1].msgstr == "" and summary.kept_unwritable == 1
    assert catalog[2].msgstr == "\ufffd durch ? ersetzen", "the message has one itself"


def test_a_memory_match_that_fails_a_check_is_not_used(checker):
    catalog = polib.POFile()
    catalog.metadata = {"Language": "de"}
    for msgid in ("Click <b>here</b>", "Printer"):
        catalog.append(polib.POEntry(msgid=msgid, msgstr=""))
    tm = TranslationMemory(["Click <b>here</b>", "Printer"], ["Klicken Sie hier", "Drucker"])
    model = FakeNBest({"Click <b>here</b>": ["Klicken Sie <b>hier</b>"]})
    summary = fill.fill_catalog(catalog, model_label="fake/1", translate_n_best=model,
                                memory=tm, threshold=0.9, checker=checker)
    assert model.calls == [["Click <b>here</b>"]], "the rejected match goes to the model"
    assert (summary.from_memory, summary.memory_rejected, summary.from_model) == (1, 1, 1)
    assert catalog[0].msgstr == "Klicken Sie <b>hier</b>"
    assert catalog[0].tcomment == "machine translation: model gru-keras fake/1"
    assert catalog[1].msgstr == "Drucker"
    assert catalog[1].tcomment == "machine translation: memory, similarity 1.00"


def test_the_n_best_function_must_return_lists_of_hypotheses():
    catalog = polib.POFile()
    catalog.append(polib.POEntry(msgid="Open", msgstr=""))
    with pytest.raises(TypeError, match="a list of hypotheses per message; got a string"):
        fill.fill_catalog(catalog, model_label="fake/1", translate_n_best=lambda s: ["Öffnen"])
    with pytest.raises(ValueError, match="one of translate and translate_n_best"):
        fill.fill_catalog(catalog, model_label="fake/1")


def test_dress_is_a_no_op_on_a_translation_with_the_source_s_whitespace():
    for source, translation in [("Usage:\n", "Aufruf:\n"), ("  Ready: ", "  Bereit: "),
                                ("\n\tIndented\n", "\n\tEingerückt\n")]:
        assert suggestions.dress(source, translation) == translation
        assert suggestions.dress(source, translation.strip()) == translation


def test_po_without_the_toolkit_stops_unless_told_to_skip_the_checks(tmp_path, monkeypatch,
                                                                      capsys):
    monkeypatch.setenv(toolkit.ENVIRONMENT_VARIABLE, str(tmp_path))  # an empty directory
    argv = ["po", str(FIXTURE), "--model", str(tmp_path / "no-model"), "--out",
            str(tmp_path / "out.po")]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("translate po: error: Translate Toolkit is not installed in "), err
    assert "python -m translate.toolkit --install" in err
    # With --no-checks it goes on, to the model (missing here).
    assert cli.main(argv + ["--no-checks"]) == 2
    assert "exported model" in capsys.readouterr().err
    assert not (tmp_path / "out.po").exists()


@pytest.fixture(scope="module")
def n_best_export(tmp_path_factory):
    """A stand-in export with a `translate_n_best` signature: its first
    hypothesis is the text without its tags, its second the text itself;
    `format_ok` is false for the first where that removed a tag."""
    import tensorflow as tf

    class Stand(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
        def beam(self, text):
            return {"translation": text, "score": tf.zeros(tf.shape(text), tf.float32)}

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
        def n_best(self, text):
            untagged = tf.strings.regex_replace(text, "<[^>]*>", "")
            return {"translations": tf.stack([untagged, text], axis=1),
                    "scores": tf.zeros([tf.shape(text)[0], 2], tf.float32),
                    "format_ok": tf.stack([tf.equal(untagged, text),
                                           tf.ones(tf.shape(text), tf.bool)], axis=1)}

    stand = Stand()
    path = tmp_path_factory.mktemp("n_best") / "stand"
    tf.saved_model.save(stand, str(path / "1"), signatures={
        "serving_default": stand.beam, "translate_n_best": stand.n_best})
    return path


def test_exported_model_reads_the_n_best_signature(n_best_export):
    model = exported.ExportedModel(n_best_export)
    assert model.has_n_best and model.n_best_label == "stand/1 (translate_n_best)"
    sentences = ["<b>Öffnen</b>", "Ja", "a <i>b</i> c"]
    assert model.n_best(sentences, batch_size=2) == [
        ["Öffnen", "<b>Öffnen</b>"], ["Ja", "Ja"], ["a b c", "a <i>b</i> c"]]
    assert model.n_best(sentences[:2], with_format=True) == [
        [("Öffnen", False), ("<b>Öffnen</b>", True)], [("Ja", True), ("Ja", True)]]
    assert model.translate(sentences) == sentences, "the chosen signature, as before"


def test_fill_po_takes_the_exports_n_best_and_says_which(n_best_export, tmp_path):
    catalog = polib.POFile()
    catalog.metadata = {"Language": "de", "Content-Type": "text/plain; charset=UTF-8"}
    for msgid in ("Click <b>here</b>", "Open"):
        catalog.append(polib.POEntry(msgid=msgid, msgstr=""))
    catalog.save(str(tmp_path / "de.po"))
    summary = fill.fill_po(tmp_path / "de.po", n_best_export, tmp_path / "out.po")
    assert summary.model == "stand/1 (translate_n_best)" and summary.fallbacks == 1
    written = polib.pofile(str(tmp_path / "out.po"))
    assert written[0].msgstr == "Click <b>here</b>"
    assert written[0].tcomment == ("machine translation: model gru-keras stand/1 "
                                   "(translate_n_best, hypothesis 2 of 2)")
    assert written[1].tcomment == "machine translation: model gru-keras stand/1 " \
                                  "(translate_n_best)"
    unchecked = fill.fill_po(tmp_path / "de.po", n_best_export, tmp_path / "unchecked.po",
                             checks=False)
    assert (unchecked.checks, unchecked.fallbacks) == (None, 1), \
        "without the toolkit, the export's format_ok alone rejects the first"


@pytest.mark.skipif(MSGFMT is None, reason="msgfmt (Debian's gettext package) is not installed")
def test_a_hypothesis_msgfmt_rejects_is_not_written():
    # What an unmasked model wrote on django-oscar's and Tryton's catalogs: placeholders
    # kept (our rule and pofilter pass them), but not format strings Python accepts.
    catalog = polib.pofile('msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n'
                           '#, python-format\nmsgid "Basket includes %(count)d items from '
                           '%(range)s"\nmsgstr ""\n\n#, python-format\nmsgid "Delete '
                           '\\"%(line)s\\" first"\nmsgstr ""\n\nmsgid "50% off"\nmsgstr ""\n')
    hypotheses = {
        "Basket includes %(count)d items from %(range)s": [
            "Korb %(count)d von %(range) from %(range)s",  # `%(range) f`: a float
            "Der Korb enthält %(count)d Artikel aus %(range)s"],
        'Delete "%(line)s" first': ["»%« zuerst »%(line)s« löschen"],  # a lone % in a format
        "50% off": ["50% Rabatt"]}  # no format flag: a % is text
    summary = fill.fill_catalog(catalog, model_label="fake/1",
                                translate_n_best=lambda s: [hypotheses[m] for m in s])
    written = {e.msgid: e.msgstr for e in catalog}
    assert written["Basket includes %(count)d items from %(range)s"] == (
        "Der Korb enthält %(count)d Artikel aus %(range)s")
    assert written['Delete "%(line)s" first'] == "" and summary.kept_msgfmt == 1
    assert written["50% off"] == "50% Rabatt"
