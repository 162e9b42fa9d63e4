"""Glossaries: the three file formats and their errors, term matching, term
masking in the Python path and the graph alike, and the fallback to a
hypothesis that has the term (`translate po`, `Translator`)."""

import polib
import pytest
import tensorflow as tf

from translate import decoding, masking, spans
from translate.localize import fill
from translate.glossary import Entry, Glossary, GlossaryError, read_file
from translate.glossary.terms import missed_targets
from translate.inference import choose

TERMS = [("page", "Seite"), ("web page", "Webseite"), ("site", "Website"),
         ("collection", "Sammlung"), ("workflow", "Workflow"), ("C++", "C++")]


def glossary(pairs=TERMS):
    return Glossary([Entry(s, t, f"test:{i}") for i, (s, t) in enumerate(pairs, 1)])


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


# -- files ------------------------------------------------------------------

def test_weblate_csv_export_loads_with_its_other_columns_ignored(tmp_path):
    path = write(tmp_path / "g.csv",
                 'location,source,target,id,fuzzy,context,translator_comments\n'
                 ',page,Seite,,False,,\n'
                 ',"collection, public",Öffentliche Sammlung,,False,,"a ""quoted"" note"\n')
    found = read_file(path)
    assert [(e.source, e.target) for e in found.entries] == [
        ("page", "Seite"), ("collection, public", "Öffentliche Sammlung")]
    assert found.entries[1].where == f"{path}:3"


def test_a_two_column_sheet_with_semicolons_loads(tmp_path):
    path = write(tmp_path / "g.csv", "Source;Target\nsite;Website\n\nworkflow;Workflow\n")
    assert [(e.source, e.target) for e in read_file(path).entries] == [
        ("site", "Website"), ("workflow", "Workflow")]


@pytest.mark.parametrize("text, message", [
    ("term,translation\npage,Seite\n", ":1: the header row has no 'source' or 'target'"),
    ("source,target\npage,Seite\nsite\n", ":3: 1 fields, but the header row has 2"),
    ('source,target\npage,"Seite\nsite,Website\n', ":2: malformed CSV"),
    ("source,target\npage,Seite\nsite,  \n", ":3: the term 'site' has an empty target"),
    ("source,target\n,Seite\n", ":2: the term 'Seite' has an empty source"),
    ("", "empty file"),
])
def test_a_bad_csv_is_named_by_file_and_line(tmp_path, text, message):
    path = write(tmp_path / "g.csv", text)
    with pytest.raises(GlossaryError, match=message.replace("(", r"\(")) as error:
        read_file(path)
    assert str(path) in str(error.value)


def test_conflicting_entries_are_all_reported(tmp_path):
    path = write(tmp_path / "g.csv", "source,target\npage,Seite\nPage,Seite\nsite,Website\n"
                                     "page,Blatt\nsite,Site\n")
    with pytest.raises(GlossaryError, match="2 conflicting") as error:
        Glossary.read(path)
    assert f"{path}:5: 'page' -> 'Blatt' conflicts with {path}:2" in str(error.value)
    assert f"{path}:6: 'site' -> 'Site'" in str(error.value)


TBX = """<?xml version="1.0" encoding="UTF-8"?>
<martif type="TBX" xml:lang="en">
<martifHeader><fileDesc><sourceDesc><p>test</p></sourceDesc></fileDesc></martifHeader>
<text><body>
<termEntry id="1">
  <langSet xml:lang="en"><tig><term>page</term></tig></langSet>
  <langSet xml:lang="fr"><tig><term>page</term></tig></langSet>
  <langSet xml:lang="de"><tig><term>Seite</term></tig></langSet>
</termEntry>
<termEntry id="2">
  <langSet xml:lang="en"><tig><term>site</term></tig><tig><term>web site</term></tig></langSet>
  <langSet xml:lang="de"><tig><term>Website</term></tig></langSet>
</termEntry>
</body></text></martif>
"""


def test_tbx_reads_the_target_language_asked_for(tmp_path):
    path = write(tmp_path / "g.tbx", TBX)
    found = read_file(path, "de")
    assert [(e.source, e.target) for e in found.entries] == [
        ("page", "Seite"), ("site", "Website"), ("web site", "Website")]
    assert found.entries[0].where == f"{path}:5"


def test_tbx_errors_name_the_line(tmp_path):
    with pytest.raises(GlossaryError, match=r"g.tbx:10: the term 'site' has an empty target"):
        read_file(write(tmp_path / "g.tbx", TBX), "fr")
    broken = TBX.replace("<term>Website</term>", "<term>Website</tig>")
    with pytest.raises(GlossaryError, match=r"g.tbx:12: malformed TBX"):
        read_file(write(tmp_path / "g.tbx", broken), "de")


def test_a_glossary_catalog_skips_untranslated_and_fuzzy_terms(tmp_path):
    path = write(tmp_path / "g.po", 'msgid ""\nmsgstr ""\n"Language: de\\n"\n\n'
                                    'msgid "page"\nmsgstr "Seite"\n\n'
                                    'msgid "site"\nmsgstr ""\n\n'
                                    '#, fuzzy\nmsgid "workflow"\nmsgstr "Arbeitsablauf"\n')
    found = read_file(path)
    assert [(e.source, e.target) for e in found.entries] == [("page", "Seite")]
    assert [(source, why) for source, _, why in found.skipped] == [
        ("site", "untranslated"), ("workflow", "fuzzy")]


def test_an_unknown_format_is_an_error(tmp_path):
    with pytest.raises(GlossaryError, match="unknown glossary format '.xlsx'"):
        read_file(write(tmp_path / "g.xlsx", "x"))
    with pytest.raises(FileNotFoundError):
        read_file(tmp_path / "missing.csv")


# -- matching ---------------------------------------------------------------

@pytest.mark.parametrize("text, terms", [
    ("Delete this page", ["page"]),
    ("Delete these Pages", ["page"]),                  # case, plural -s
    ("PAGE SITES", ["page", "site"]),
    ("Open the web page", ["web page"]),               # the longer term first
    ("homepage, pager, site-wide", ["site"]),          # whole words only
    ("Edit %(page)s on {site}", []),                   # inside placeholders
    ('<a href="/page/">Back</a> to https://example.com/site', []),  # tag, URL
    ("Written in C++ for a collection", ["C++", "collection"]),
])
def test_terms_match_whole_words_case_insensitively_outside_spans(text, terms):
    assert [e.source for e in glossary().find(text)] == terms


def test_masking_writes_the_terms_target_and_keeps_spans():
    g = glossary()
    masked = spans.mask('Delete the Pages of <a href="page.html">this site</a>?', terms=g)
    assert masked.spans == ("Pages", '<a href="page.html">', "site", "</a>")
    assert masked.targets == ("Seite", '<a href="page.html">', "Website", "</a>")
    assert masked.terms == (0, 2)
    out = spans.unmask("Die ｟1｠ von ｟2｠dieser ｟3｠｟4｠ löschen?", masked)
    assert out.text == 'Die Seite von <a href="page.html">dieser Website</a> löschen?' and out.ok
    # A term's sentinel lost is the glossary check's business, not a format error.
    dropped = spans.unmask("Von ｟2｠dieser ｟3｠｟4｠ löschen?", masked)
    assert dropped.ok and missed_targets(masked, dropped.text) == ["Seite"]
    assert not spans.unmask("Die ｟1｠ ｟3｠ löschen?", masked).ok  # the tags are lost


EDGE_CASES = [
    'Delete the Pages of <a href="page.html">this site</a>?',
    "  A web page on %(site)s in C++ sites.\n", "homepage pages_x", "", " \n",
    "no terms %s", "Page\tpage\nPAGES", "Workflow-Sammlung: collections of workflows",
    "｟1｠ site", "Ünïcödé page é", "the page's site",
]


def graph_masks(texts, g, order=slice(None)):
    return masking.mask(tf.constant(texts), terms=(tf.constant(g.sources[order], tf.string),
                                                   tf.constant(g.targets[order], tf.string)))


def test_the_graph_masks_terms_as_the_python_path():
    g = glossary()
    graph = graph_masks(EDGE_CASES, g, order=slice(None, None, -1))  # any order in
    for i, text in enumerate(EDGE_CASES):
        python = spans.mask(text, terms=g)
        row = {key: graph[key][i].numpy() for key in ("spans", "targets", "is_term")}
        assert graph["text"][i].numpy().decode() == python.text
        assert tuple(s.decode() for s in row["spans"]) == python.spans
        assert tuple(s.decode() for s in row["targets"]) == python.targets
        assert tuple(j for j, t in enumerate(row["is_term"]) if t) == python.terms
    assert sum(len(spans.mask(t, terms=g).terms) for t in EDGE_CASES) >= 12


def test_the_graph_unmasks_and_checks_terms_as_the_python_path():
    g = glossary()
    sources = EDGE_CASES[:3] + EDGE_CASES[6:8]
    graph = graph_masks(sources, g)
    translations = ["Die ｟1｠ von ｟2｠dieser ｟3｠｟4｠?", "Eine ｟1｠ auf ｟2｠ in ｟3｠ ｟4｠ ｟4｠.",
                    "Startseite", "｟2｠ Blatt｟4｠", "Abläufe: ｟2｠"]
    text, ok = masking.unmask(tf.constant(translations), graph)
    follows = masking.terms_followed(text, graph)
    for i, (source, translation) in enumerate(zip(sources, translations)):
        masked = spans.mask(source, terms=g)
        python = spans.unmask(translation, masked)
        assert (text[i].numpy().decode(), bool(ok[i])) == (python.text, python.ok)
        assert bool(follows[i]) == (not missed_targets(masked, python.text))
    assert follows.numpy().tolist() == [True, True, True, False, False]


def test_without_terms_the_graph_masks_as_before():
    g = Glossary([])
    with_none = masking.mask(tf.constant(EDGE_CASES))
    with_empty = graph_masks(EDGE_CASES, g)
    assert with_none["text"].numpy().tolist() == with_empty["text"].numpy().tolist()


# -- choosing a hypothesis ---------------------------------------------------

def test_the_first_hypothesis_with_every_span_and_term_is_chosen():
    assert choose([True, True, True], [False, True, True]) == 1
    assert choose([False, True, True], [True, False, True]) == 2
    assert choose([False, True], [True, False]) == 1    # spans before terms
    assert choose([False, False], [True, True]) == 0


def catalog(*msgids):
    text = 'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n"Language: de\\n"\n'
    for msgid in msgids:
        text += f'\nmsgid "{msgid}"\nmsgstr ""\n'
    return polib.pofile(text)


def test_po_falls_back_to_a_hypothesis_with_the_term_and_comments_a_miss():
    hypotheses = {"Delete this page": ["Dieses Blatt löschen", "Diese Seite löschen"],
                  "Publish the site": ["Den Ort veröffentlichen", "Die Stelle veröffentlichen"],
                  "Save": ["Speichern"]}
    filled = catalog(*hypotheses)
    summary = fill.fill_catalog(filled, model_label="fake/1",
                                translate_n_best=lambda s: [hypotheses[m] for m in s],
                                glossary=glossary())
    entries = {e.msgid: e for e in filled}
    assert entries["Delete this page"].msgstr == "Diese Seite löschen"
    assert "hypothesis 2 of 2" in entries["Delete this page"].tcomment
    assert "glossary" not in entries["Delete this page"].tcomment
    # No hypothesis has the term: still filled, the comment says which term.
    assert entries["Publish the site"].msgstr == "Den Ort veröffentlichen"
    assert entries["Publish the site"].tcomment.endswith("; glossary term missed: site -> Website")
    assert (summary.glossary_entries, summary.glossary_followed, summary.glossary_missed) == (2, 1, 1)
    assert summary.glossary_missed_terms == {"site": 1} and summary.from_model == 3


def test_a_memory_match_without_the_term_goes_to_the_model():
    from translate.memory import TranslationMemory

    memory = TranslationMemory(["Delete this page", "Save"], ["Dieses Blatt löschen", "Sichern"])
    filled = catalog("Delete this page", "Save")
    summary = fill.fill_catalog(filled, model_label="fake/1", memory=memory, threshold=0.9,
                                translate_n_best=lambda s: [["Diese Seite löschen"] for _ in s],
                                glossary=glossary())
    assert [e.msgstr for e in filled] == ["Diese Seite löschen", "Sichern"]
    assert summary.memory_glossary_rejected == 1 and summary.from_memory == 1


def test_terms_are_found_in_a_message_without_its_accelerator():
    filled = catalog("_Page setup")
    fill.fill_catalog(filled, model_label="fake/1", accelerator="_", glossary=glossary(),
                      translate_n_best=lambda s: [["_Blatt einrichten", "_Seite einrichten"]
                                                for _ in s])
    assert filled[0].msgstr == "_Seite einrichten"


def fake_translator(search):
    """A `Translator` with a scripted search (`_search`) and no model."""
    from translate.inference import Translator

    translator = Translator.__new__(Translator)
    translator.glossary, translator.term_masking = glossary(), True
    translator.masks_spans, translator.max_source_length = True, 128
    translator.reads_matches = False
    translator._search = search
    return translator


def test_a_sentence_whose_hypotheses_all_lack_a_term_takes_its_term_masked_form():
    searched = []

    def search(masked_all, beam_rows=None):
        # One search: the sentences' beams, then the term-masked forms' greedy
        # hypothesis (no beams: `decoding.n_best_search`'s `beam_rows`).
        searched.append(([m.text for m in masked_all], beam_rows))
        return ([["Dieses Blatt löschen", "Blatt weg"], ["Speichern", "Sichern"],
                 [spans.unmask("Diese ｟1｠ löschen", masked_all[2]).text, ""]],
                [[-1.0, -2.0], [-1.0, -2.0], [-1.5, decoding.NEG_INF]],
                [[True, True], [True, True], [True, False]])

    translator = fake_translator(search)
    hypotheses, scores, oks, terms_ok = translator.n_best_batch(
        ["Delete this page", "Save"], with_terms=True)
    assert searched == [(["Delete this page", "Save", "Delete this ｟1｠"], 2)]
    # The term-masked form's translation first, then the sentence's own best.
    assert hypotheses == [["Diese Seite löschen", "Dieses Blatt löschen"],
                          ["Speichern", "Sichern"]]
    assert terms_ok == [[True, False], [True, True]] and scores[0] == [-1.5, -1.0]
    assert translator.translate_batch(["Delete this page", "Save"])[0] == [
        "Diese Seite löschen", "Speichern"]


def test_a_hypothesis_with_the_term_keeps_the_sentences_own_search():
    searched = []

    def search(masked_all, beam_rows=None):
        searched.append([m.text for m in masked_all])
        return ([["Dieses Blatt löschen", "Diese Seite löschen"], ["Seite weg", "Weg"]],
                [[-1.0, -2.0], [-1.5, -3.0]], [[True, True], [True, True]])

    translator = fake_translator(search)
    assert translator.translate_batch(["Delete this page"])[0] == ["Diese Seite löschen"]
    assert searched == [["Delete this page", "Delete this ｟1｠"]]


def test_po_fills_through_the_exports_glossary_signature(tiny_export, tmp_path):
    from translate import cli

    glossary = write(tmp_path / "terms.po", 'msgid ""\nmsgstr ""\n\nmsgid "printer"\n'
                                            'msgstr "Drucker"\n')
    catalog = tmp_path / "de.po"
    catalog.write_text('msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n'
                       '"Language: de\\n"\n\nmsgid "Print on the printer"\n'
                       'msgstr ""\n\nmsgid "Save"\nmsgstr ""\n', encoding="utf-8")
    out = tmp_path / "out.po"
    assert cli.main(["po", str(catalog), "--model", str(tiny_export / "models" / "translator"),
                     "--out", str(out), "--no-checks", "--glossary", str(glossary)]) == 0
    entries = {e.msgid: e for e in polib.pofile(str(out))}
    filled = entries["Print on the printer"]
    assert "translator/1 (translate_n_best_glossary" in filled.tcomment
    missed = filled.tcomment.endswith("; glossary term missed: printer -> Drucker")
    assert missed == ("drucker" not in filled.msgstr.lower())
    assert "missed" not in entries["Save"].tcomment


def test_the_benchmark_builds_a_glossary_of_the_terms_translators_use_consistently():
    import importlib
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    try:
        bench = importlib.import_module("glossary")
    finally:
        sys.path.pop(0)
    pairs = [("Delete the page", "Die Seite löschen"), ("Pages of the site", "Seiten der Website"),
             ("Edit page %s", "Seite %s bearbeiten"), ("Page saved", "Seite gespeichert"),
             ("Move this page", "Diese Startseite verschieben"),
             ("Save the site", "Die Website speichern"), ("Site settings", "Website-Einstellungen"),
             ("Open the site", "Website öffnen"), ("The site is down", "Die Website ist weg"),
             ("Your site", "Ihre Webseite"),  # 4 of 5: below the 90% asked
             ("Delete the file", "Datei löschen")]
    built = bench.build_glossary(pairs, min_count=5)
    assert [(e.source, e.target) for e in built.entries] == [("page", "Seite")]
