"""A long message none of whose hypotheses passes is translated again in
segments, joined with its own separators, and written only if the whole
passes."""

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


def test_a_message_that_fails_whole_is_filled_from_its_segments():
    model = Model({"Restart the server.": [("Server neu starten.", True)],
                   "Jobs stop.": [("Aufträge halten an.", True)],
                   "<p>Read the <a\nhref=\"%(url)s\">guide</a>.</p>": [
                       ("<p>Lesen Sie die <a\nhref=\"%(url)s\">Anleitung</a>.</p>", True)]})
    catalog = catalog_of(HELP)
    summary = fill.fill_catalog(catalog, model_label="fake/1", translate_n_best=model)
    assert model.calls[0] == [HELP]
    assert catalog[0].msgstr == ("<p>\n  Server neu starten. Aufträge halten an.\n</p>\n"
                                 "<p>Lesen Sie die <a\nhref=\"%(url)s\">Anleitung</a>.</p>")
    assert catalog[0].tcomment == "machine translation: model gru-keras fake/1 (in 3 segments)"
    assert (summary.from_model, summary.by_segments) == (1, 1)


def test_the_first_hypothesis_keeping_its_spans_is_taken_of_each_segment():
    model = Model({"Open %s.": [("Öffnen.", False), ("%s öffnen.", True)],
                   "Close it.": [("Schließen.", True)]})
    catalog = catalog_of("Open %s. Close it.")
    fill.fill_catalog(catalog, model_label="fake/1", translate_n_best=model)
    assert catalog[0].msgstr == "%s öffnen. Schließen."


def test_joined_segments_that_fail_are_not_written():
    # A segment loses its placeholder in every hypothesis: the whole would too.
    model = Model({"Open %s.": [("Öffnen.", False)], "Close it.": [("Schließen.", True)]})
    catalog = catalog_of("Open %s. Close it.", "Short")
    summary = fill.fill_catalog(catalog, model_label="fake/1", translate_n_best=model)
    assert catalog[0].msgstr == "" and summary.by_segments == 0
    assert (summary.kept_placeholders, summary.kept_format) == (1, 1), \
        "counted as the whole message's hypotheses failed"
    assert model.calls[1] == ["Open %s.", "Close it."], "a message that does not split: no retry"


def test_a_message_that_passes_whole_is_not_split():
    model = Model({"Restart. Now.": [("Neu starten. Jetzt.", True)]})
    catalog = catalog_of("Restart. Now.")
    summary = fill.fill_catalog(catalog, model_label="fake/1", translate_n_best=model)
    assert catalog[0].msgstr == "Neu starten. Jetzt." and summary.by_segments == 0
    assert len(model.calls) == 1
