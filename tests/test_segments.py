"""A message of several sentences or lines is translated segment by segment
first, its whole hypotheses after; one none of whose candidates passes is
translated again in segments; joined with its own separators, and written
only if the whole passes."""

import polib
import pytest

from translate.localize import fill, segments

HELP = ("<p>\n  Restart the server. Jobs stop.\n</p>\n"
        "<p>Read the <a\nhref=\"%(url)s\">guide</a>.</p>")


@pytest.mark.parametrize("text", [HELP, "One line", "", "\n\nTwo.\n", "A. B! C? d. e"])
def test_the_parts_join_back_to_the_message(text):
    assert "".join(s + sep for s, sep in segments.split(text)) == text


def test_a_message_splits_at_line_breaks_and_sentence_ends_but_not_inside_a_span():
    parts = segments.split(HELP)
    assert [s for s, _ in parts] == ["<p>", "Restart the server.", "Jobs stop.", "</p>",
                                     "<p>Read the <a\nhref=\"%(url)s\">guide</a>.</p>"]
    assert [segments.has_text(s) for s, _ in parts] == [False, True, True, False, True]
    assert segments.split("Use e.g. this, or %(name)s. done") == [
        ("Use e.g. this, or %(name)s. done", "")], "no capital, no sentence start"


class Model:
    """Hypotheses by message; a message it does not know gets one broken
    hypothesis (a span lost)."""

    def __init__(self, answers):
        self.answers, self.calls = answers, []

    def __call__(self, sentences):
        self.calls.append(list(sentences))
        return [self.answers.get(s, [("kaputt", False)]) for s in sentences]


def catalog_of(*msgids):
    catalog = polib.POFile()
    for msgid in msgids:
        catalog.append(polib.POEntry(msgid=msgid, msgstr=""))
    return catalog


def test_a_message_of_several_segments_is_translated_in_segments_first():
    model = Model({"Restart the server.": [("Server neu starten.", True)],
                   "Jobs stop.": [("Aufträge halten an.", True)],
                   "<p>Read the <a\nhref=\"%(url)s\">guide</a>.</p>": [
                       ("<p>Lesen Sie die <a\nhref=\"%(url)s\">Anleitung</a>.</p>", True)],
                   HELP: [("<p>\n  Ganz übersetzt.\n</p>\n<p><a\nhref=\"%(url)s\">x</a>.</p>",
                           True)]})
    catalog = catalog_of(HELP, "Short")
    summary = fill.fill_catalog(catalog, model_label="fake/1", translate_n_best=model)
    assert model.calls == [[HELP, "Short", "Restart the server.", "Jobs stop.",
                            "<p>Read the <a\nhref=\"%(url)s\">guide</a>.</p>"]], \
        "one call: the messages and the segments of those that split"
    assert catalog[0].msgstr == ("<p>\n  Server neu starten. Aufträge halten an.\n</p>\n"
                                 "<p>Lesen Sie die <a\nhref=\"%(url)s\">Anleitung</a>.</p>")
    assert catalog[0].tcomment == "machine translation: model gru-keras fake/1 (in 3 segments)"
    assert (summary.from_model, summary.by_segments, summary.fallbacks) == (1, 1, 0)


def test_a_message_whose_segments_fail_is_filled_whole_as_its_first_hypothesis():
    model = Model({"Restart. Now.": [("Neu starten. Jetzt.", True)]})
    catalog = catalog_of("Restart. Now.")
    summary = fill.fill_catalog(catalog, model_label="fake/1", translate_n_best=model)
    assert catalog[0].msgstr == "Neu starten. Jetzt."
    assert catalog[0].tcomment == "machine translation: model gru-keras fake/1", \
        "the whole message's first hypothesis: no fallback named"
    assert (summary.by_segments, summary.fallbacks) == (0, 0)
    assert len(model.calls) == 1, "segments already tried: no retry"


def test_with_segments_as_fallback_a_message_that_fails_whole_is_filled_from_its_segments():
    model = Model({"Restart the server.": [("Server neu starten.", True)],
                   "Jobs stop.": [("Aufträge halten an.", True)],
                   "<p>Read the <a\nhref=\"%(url)s\">guide</a>.</p>": [
                       ("<p>Lesen Sie die <a\nhref=\"%(url)s\">Anleitung</a>.</p>", True)]})
    catalog = catalog_of(HELP)
    summary = fill.fill_catalog(catalog, model_label="fake/1", translate_n_best=model,
                                segments_first=False)
    assert model.calls[0] == [HELP]
    assert catalog[0].msgstr == ("<p>\n  Server neu starten. Aufträge halten an.\n</p>\n"
                                 "<p>Lesen Sie die <a\nhref=\"%(url)s\">Anleitung</a>.</p>")
    assert catalog[0].tcomment == "machine translation: model gru-keras fake/1 (in 3 segments)"
    assert (summary.from_model, summary.by_segments) == (1, 1)


def test_a_message_with_one_segment_of_text_is_split_only_when_it_fails_whole():
    model = Model({"Restart the server.": [("Server neu starten.", True)]})
    catalog = catalog_of("<p>\nRestart the server.\n</p>")
    summary = fill.fill_catalog(catalog, model_label="fake/1", translate_n_best=model)
    assert model.calls == [["<p>\nRestart the server.\n</p>"], ["Restart the server."]]
    assert catalog[0].msgstr == "<p>\nServer neu starten.\n</p>"
    assert summary.by_segments == 1


def test_the_first_hypothesis_keeping_its_spans_is_taken_of_each_segment():
    model = Model({"Open %s.": [("Öffnen.", False), ("%s öffnen.", True)],
                   "Close it.": [("Schließen.", True)]})
    catalog = catalog_of("Open %s. Close it.")
    fill.fill_catalog(catalog, model_label="fake/1", translate_n_best=model)
    assert catalog[0].msgstr == "%s öffnen. Schließen."


@pytest.mark.parametrize("segments_first", [True, False])
def test_joined_segments_that_fail_are_not_written(segments_first):
    # A segment loses its placeholder in every hypothesis: the whole would too.
    model = Model({"Open %s.": [("Öffnen.", False)], "Close it.": [("Schließen.", True)]})
    catalog = catalog_of("Open %s. Close it.", "Short")
    summary = fill.fill_catalog(catalog, model_label="fake/1", translate_n_best=model,
                                segments_first=segments_first)
    assert catalog[0].msgstr == "" and summary.by_segments == 0
    assert (summary.kept_placeholders, summary.kept_format) == (1, 1), \
        "counted as the whole message's hypotheses failed"
    asked = [s for call in model.calls for s in call]
    assert asked.count("Short") == 1, "a message that does not split: no retry"
    assert asked.count("Open %s.") == asked.count("Close it.") == 1, "segments tried once"
    assert len(model.calls) == (1 if segments_first else 2)


def test_with_segments_as_fallback_a_message_that_passes_whole_is_not_split():
    model = Model({"Restart. Now.": [("Neu starten. Jetzt.", True)]})
    catalog = catalog_of("Restart. Now.")
    summary = fill.fill_catalog(catalog, model_label="fake/1", translate_n_best=model,
                                segments_first=False)
    assert catalog[0].msgstr == "Neu starten. Jetzt." and summary.by_segments == 0
    assert len(model.calls) == 1


def test_each_plural_form_is_translated_in_segments_and_counted_once():
    model = Model({"%d file was deleted.": [("%d Datei wurde gelöscht.", True)],
                   "%d files were deleted.": [("%d Dateien wurden gelöscht.", True)],
                   "Empty the bin.": [("Leeren Sie den Papierkorb.", True)]})
    catalog = polib.POFile()
    catalog.metadata = {"Plural-Forms": "nplurals=2; plural=(n != 1);"}
    catalog.append(polib.POEntry(msgid="%d file was deleted. Empty the bin.",
                                 msgid_plural="%d files were deleted. Empty the bin.",
                                 msgstr_plural={0: "", 1: ""}))
    summary = fill.fill_catalog(catalog, model_label="fake/1", translate_n_best=model)
    assert catalog[0].msgstr_plural == {0: "%d Datei wurde gelöscht. Leeren Sie den Papierkorb.",
                                        1: "%d Dateien wurden gelöscht. Leeren Sie den "
                                           "Papierkorb."}
    assert catalog[0].tcomment == "machine translation: model gru-keras fake/1 (in 4 segments)"
    assert (summary.by_segments, summary.plurals) == (1, 1)
    assert [s for call in model.calls for s in call].count("Empty the bin.") == 1, \
        "a segment both forms share is translated once"
