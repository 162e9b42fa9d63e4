"""A model that reads its memory match (neural fuzzy repair): the matches it
trains on, its input, training and translating with it, and the evaluation
per band of match similarity."""

import json
import subprocess
import sys

import pytest

from messages import tiny_corpus
from translate import config, dataset, matches, prepare, spans, tokenizer, training
from translate.evaluation import band_scores
from translate.memory import TranslationMemory
from translate.tokenizer import MATCH_SEPARATOR


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return tiny_corpus(tmp_path_factory.mktemp("matches"))


@pytest.fixture(scope="module")
def reading_run(corpus, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("reading") / "run"
    settings = config.preset("tiny")
    settings["train"].update(epochs=1, memory_matches=True)
    training.train(corpus, run_dir, settings, verbose=0)
    return run_dir


def test_a_pair_is_never_matched_with_itself_nor_with_its_source_twice():
    sources = ["Open the file", "Open the file", "Open the files", "Close the window"]
    targets = ["Datei öffnen", "Die Datei öffnen", "Dateien öffnen", "Fenster schließen"]
    found = TranslationMemory(sources, targets).nearest_others()
    assert [m.source for m in found[:3]] == ["Open the files", "Open the files",
                                             "Open the file"]
    assert found[2].target == "Datei öffnen"  # the first of equals, as `lookup` takes
    for source, match in zip(sources, found):
        assert match.source != source and 0.0 <= match.similarity < 1.0
    assert found[0].similarity > found[3].similarity


def test_a_memory_of_one_source_has_no_other_match():
    assert TranslationMemory(["Save", "Save"], ["Speichern", "Sichern"]).nearest_others() == [
        None, None]


def test_a_model_is_given_the_matches_at_least_as_similar_as_it_was_trained_on():
    from translate.memory import Match

    found = [Match("a", "A", 0.9), Match("b", "B", 0.5), None, Match("c", "C", 0.7),
             Match("d", "D", 0.0)]
    assert matches.given(found, 0.7) == ["A", "", "", "C", ""]
    assert matches.given(found) == ["A", "B", "", "C", ""]


def test_the_input_is_the_message_the_separator_and_the_match():
    assert matches.join("Open %s", "Öffne %s") == f"Open %s {MATCH_SEPARATOR} Öffne %s"
    assert matches.join("Open %s", "") == "Open %s"


def test_a_masked_match_shares_the_message_sentinels_and_keeps_its_own_spans_as_text():
    masked = matches.masked_input("Copy %s to <b>%d</b>", "Kopiere %s nach %(name)s")
    assert masked.text == (f"Copy ｟1｠ to ｟2｠｟3｠｟4｠ {MATCH_SEPARATOR} "
                           "Kopiere ｟1｠ nach %(name)s")
    assert masked.spans == ("%s", "<b>", "%d", "</b>")
    # Only the message's spans are unmasked, as without a match.
    unmasked = spans.unmask("Kopiere ｟1｠ nach ｟2｠｟3｠｟4｠", masked)
    assert unmasked.ok and unmasked.text == "Kopiere %s nach <b>%d</b>"
    assert matches.masked_input("Copy %s", "") == spans.mask("Copy %s")


def test_a_training_pair_reads_its_match_masked_like_its_target():
    source, target = matches.training_pair("Delete %d files", "%d Dateien löschen",
                                           "%d Ordner löschen", mask_spans=True)
    assert source == f"Delete ｟1｠ files {MATCH_SEPARATOR} ｟1｠ Ordner löschen"
    assert target == "｟1｠ Dateien löschen"
    assert matches.training_pair("a", "b", "c", mask_spans=False) == (
        f"a {MATCH_SEPARATOR} c", "b")


def test_tokenizers_trained_here_keep_the_separator_as_one_piece(corpus, tmp_path):
    model = tokenizer.load_processor(prepare.tokenizer_paths(corpus)[0])
    assert tokenizer.reads_matches(model)
    ids = model.encode(matches.join("Open the file", "Datei öffnen"))
    assert model.piece_to_id(MATCH_SEPARATOR) in ids
    older = tokenizer.train_sentencepiece(["Open the file", "Datei öffnen"] * 50,
                                          tmp_path / "old", vocab_size=300)
    assert not tokenizer.reads_matches(older)


def test_the_dataset_adds_the_pairs_reading_their_matches(corpus):
    (source_tok, target_tok), _ = training.tokenizers(corpus)
    separator = tokenizer.load_processor(
        prepare.tokenizer_paths(corpus)[0]).piece_to_id(MATCH_SEPARATOR)
    triples = [("Open the file", "Datei öffnen", "Ordner öffnen")] * 3

    def rows(**extra):
        batches = dataset.make_dataset(str(corpus / "dev.tsv"), source_tok, target_tok,
                                       shuffle=False, mask_spans=True, **extra)
        return [row for inputs, _ in batches for row in inputs["source"].numpy().tolist()]
    plain, with_matches = rows(), rows(matched=triples)
    assert len(with_matches) == len(plain) + 3
    assert sum(separator in row for row in with_matches) == 3
    assert not any(separator in row for row in plain)


def test_training_with_matches_keeps_them_and_needs_a_tokenizer_with_the_separator(
        reading_run, corpus, tmp_path):
    found = json.loads((reading_run / training.TRAINING_MATCHES).read_text())
    train_pairs = (corpus / "train.tsv").read_text(encoding="utf-8").splitlines()
    assert len(found) == len(train_pairs)
    assert all(f"{s}\t{t}" in train_pairs for s, t, _, _ in found[:20])
    assert all(0.0 <= similarity < 1.0 for *_, similarity in found)
    # A resumed run reads them back; a least similarity keeps only those as similar.
    middle = sorted(similarity for *_, similarity in found)[len(found) // 2]
    kept = training._training_matches(corpus, reading_run, None, middle)
    assert kept == [(s, t, m) for s, t, m, similarity in found if similarity >= middle]
    assert 0 < len(kept) < len(found)

    older = tmp_path / "older"
    older.mkdir()
    for name in ("train.tsv", "dev.tsv", "test.tsv"):
        (older / name).write_bytes((corpus / name).read_bytes())
    sources = [line.split("\t")[0] for line in train_pairs]
    tokenizer.train_sentencepiece(sources, older / "spm", vocab_size=400)
    (older / "manifest.json").write_text(json.dumps(
        {"tokenizer": {"source": "spm.model", "target": "spm.model"}}))
    settings = config.preset("tiny")
    settings["train"].update(epochs=1, memory_matches=True)
    with pytest.raises(config.ConfigError, match="prepare .* again"):
        training.train(older, tmp_path / "run", settings, verbose=0)


def test_a_reading_model_without_a_match_translates_as_a_plain_request(reading_run, corpus):
    from translate.inference import Translator

    translator = Translator.from_run(reading_run, beam_width=2)
    assert translator.reads_matches
    sources = ["Could not open file %s for the printer", "Deleted {count} items for the user",
               "%(name)s is ready for the key"]
    plain = translator.translate(sources)
    assert translator.translate(sources, matches=[""] * 3) == plain
    given = ["Datei %s konnte nicht", "{count} Elemente", "%(name)s ist"]
    assert len(translator.translate(sources, matches=given)) == 3
    assert translator.mask(sources[0], match=given[0]).text.endswith(
        f"{MATCH_SEPARATOR} Datei ｟1｠ konnte nicht")
    # A model that does not read matches is given none.
    translator.reads_matches = False
    assert translator.translate(sources, matches=given) == plain
    assert translator.mask(sources[0], match=given[0]) == translator.mask(sources[0])


def test_the_fuzzy_bands_cover_every_similarity_once():
    rows = band_scores([0.1, 0.5, 0.69, 0.95, 1.0], ["a b c"] * 5,
                       {"memory": ["a b c", "x", "a b c", "a b c", "a b c"]})
    assert [(r["band"], r["sentences"]) for r in rows] == [
        ("0.00-0.50", 1), ("0.50-0.70", 2), ("0.90-1.00", 2)]
    assert rows[0]["memory"]["chrf"] == 100.0 and rows[1]["memory"]["chrf"] < 100.0


def test_evaluate_with_a_memory_reports_the_bands_with_and_without_matches(reading_run,
                                                                           corpus):
    result = subprocess.run(
        [sys.executable, "-m", "translate", "evaluate", str(reading_run), "--tsv",
         str(corpus / "test.tsv"), "--memory", str(corpus), "--beam", "1", "--no-checks"],
        capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "the model alone (reading its matches)" in result.stdout
    report = json.loads((reading_run / "evaluation-test-greedy-memory.json").read_text())
    memory = report["memory"]
    assert memory["model_reads_matches"]
    assert sum(row["sentences"] for row in memory["bands"]) == report["sentences"]
    assert {"memory", "model without matches", "model", "model + memory"} <= set(
        memory["bands"][0])


def test_matches_are_given_from_a_floor_chosen_on_dev_or_set(reading_run, corpus, tmp_path):
    from translate import cli
    from translate.assist import MATCH_FLOOR
    from translate.memory import MATCH_FLOORS

    def evaluate(*extra, memory=True):
        result = subprocess.run(
            [sys.executable, "-m", "translate", "evaluate", str(reading_run), "--tsv",
             str(corpus / "test.tsv"), "--beam", "1", "--no-checks", "--out",
             str(tmp_path / "out.txt"), *extra,
             *(["--memory", str(corpus), "--memory-threshold", "1.0"] if memory else [])],
            capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, result.stderr[-2000:]
        if not memory:
            return result.stderr, None
        report = json.loads((reading_run / "evaluation-test-greedy-memory.json").read_text())
        return result.stderr, report["memory"]["bands"]

    # Without a memory no match is given, so no floor is chosen.
    (reading_run / MATCH_FLOOR).unlink(missing_ok=True)  # an earlier test's choice
    assert "matches given from" not in evaluate(memory=False)[0]
    assert not (reading_run / MATCH_FLOOR).exists()
    stderr, _ = evaluate()
    chosen = json.loads((reading_run / MATCH_FLOOR).read_text())
    assert chosen["floor"] in MATCH_FLOORS and len(chosen["scores"]) == len(MATCH_FLOORS)
    assert f"matches given from similarity {chosen['floor']:g}, chosen on the dev" in stderr
    assert "(cached)" in evaluate()[0]
    from translate import assist, rundir
    weights = reading_run / rundir.BEST_WEIGHTS
    assert assist.recorded_match_floor(reading_run, corpus, weights)[0] == chosen["floor"]
    kept = (reading_run / MATCH_FLOOR).read_text()
    (reading_run / MATCH_FLOOR).write_text("{")  # broken: chosen again, not an error
    assert assist.recorded_match_floor(reading_run, corpus, weights) is None
    (reading_run / MATCH_FLOOR).write_text(kept)
    # Set: below the floor the model translates each message as given no match.
    stderr, bands = evaluate("--match-floor", "1")
    assert "matches given from" not in stderr
    below = [row for row in bands if row["band"] != "0.90-1.00"]
    assert below and all(row["model"] == row["model without matches"] for row in below)

    args = cli.build_parser().parse_args(["export", str(reading_run), "--out", "x"])
    assert cli._match_floor(args) == json.loads((reading_run / MATCH_FLOOR).read_text())[
        "floor"]
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["export", str(reading_run), "--out", "x",
                                       "--match-floor", "1.5"])
    from translate.export import export
    with pytest.raises(ValueError, match="min_match_similarity must be from 0 to 1"):
        export(reading_run, tmp_path / "models", min_match_similarity=1.5)


EDGE_CASES = [  # (message, its match's translation)
    ("Copy %s to %s", "Kopiere %s nach %s und %s"),
    ("Open <b>%d</b> files", "  <b>%d</b> Dateien\n öffnen  "),
    ("Plain words for the user", "Schlichte Worte"),
    ("Has %s for the printer", ""),
    ("", "Etwas %s"),
    ("x %(a)s %(b)s", "%(b)s y %(a)s %(c)s"),
    ("Line one\nline two %s", "Zeile eins\nZeile zwei %s %s"),
    ("{0} and {1} for the key", "{1} und {0} und {0}"),
]


def test_the_graph_masks_a_match_as_the_python_path_does():
    import tensorflow as tf

    from translate import masking

    # Also a batch none of whose messages has a span (the matches may).
    for cases in (EDGE_CASES, [("Plain words", "Schlichte %s Worte <b>"), ("Open it", "")]):
        sources, found = zip(*cases)
        masked = masking.mask(tf.constant(sources))
        graph = [t.decode() for t in masking.mask_against(tf.constant(found), masked).numpy()]
        assert graph == [spans.mask_pair(s, m)[1] for s, m in cases]


@pytest.fixture(scope="module")
def reading_export(reading_run, tmp_path_factory):
    from messages import vary_weights
    from translate.export import export

    vary_weights(reading_run)  # varied outputs: the comparisons below mean something
    return export(reading_run, tmp_path_factory.mktemp("exports") / "models")


READ_MATCHES = r"""
import json, sys
import tensorflow as tf
import tensorflow_text  # the SentencePiece ops, as TF Serving has them built in
serve = tf.saved_model.load(sys.argv[1]).signatures["translate_match"]
pairs = json.loads(sys.stdin.read())
out = serve(text=tf.constant([s for s, _ in pairs]), match=tf.constant([m for _, m in pairs]))
print(json.dumps([t.decode("utf-8") for t in out["translation"].numpy()]))
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] == "translate")))
"""


def test_the_export_reads_matches_as_the_python_path_and_loads_with_tensorflow_alone(
        reading_run, reading_export):
    from translate.exported import ExportedModel
    from translate.inference import Translator

    sources, found = map(list, zip(*EDGE_CASES))
    python = Translator.from_run(reading_run).translate(sources, matches=found)
    assert len(set(python)) > len(python) / 2, "not a vacuous comparison"
    model = ExportedModel(reading_export)
    assert model.reads_matches and model.match_label() == "translator/1 (translate_n_best_match)"
    assert model.translate(sources, matches=found) == python
    n_best = Translator.from_run(reading_run).n_best(sources, matches=found)
    assert [sorted(row) for row in model.n_best(sources, matches=found)] == [
        sorted(row) for row in n_best]
    # An empty match is no match.
    assert model.translate(sources, matches=[""] * len(sources)) == model.translate(sources)

    result = subprocess.run([sys.executable, "-c", READ_MATCHES, str(reading_export)],
                            input=json.dumps(EDGE_CASES), capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    served, imported = map(json.loads, result.stdout.splitlines()[-2:])
    assert served == python and imported == []


def test_translate_po_gives_a_reading_export_each_message_s_corpus_match(
        reading_export, corpus, tmp_path):
    import polib

    from translate.localize import fill

    catalog = polib.POFile()
    catalog.metadata = {"Content-Type": "text/plain; charset=UTF-8", "Language": "de"}
    for source in ("Could not open file %s for the window", "Deleted {count} items for the key"):
        catalog.append(polib.POEntry(msgid=source, msgstr=""))
    catalog.save(str(tmp_path / "de.po"))
    summary = fill.fill_po(tmp_path / "de.po", reading_export, tmp_path / "out.po",
                           memory_corpus=corpus, memory_threshold=1.0, checks=False,
                           catalog_memory=False)
    assert summary.model == "translator/1 (translate_n_best_match)"


@pytest.mark.parametrize("protocol, rest_format", [("rest", "instances"), ("rest", "inputs"),
                                                   ("grpc", None)])
def test_a_tf_serving_client_sends_each_sentence_s_match(reading_export, corpus, tmp_path,
                                                         protocol, rest_format):
    from model_server import serve
    from translate.exported import ExportedModel
    from translate.serving import connect

    sources, found = map(list, zip(*EDGE_CASES))
    model = ExportedModel(reading_export)
    options = {} if rest_format is None else {"rest_format": rest_format}
    with serve(reading_export.parent, log_path=tmp_path / "server.log") as server:
        address = server.rest if protocol == "rest" else server.grpc
        with connect(address, protocol=protocol, **options) as client:
            assert client.translate(sources, batch_size=3, matches=found) == model.translate(
                sources, matches=found)
            assert client.n_best(sources, matches=found) == model.n_best(sources, matches=found)
            with pytest.raises(ValueError, match="2 matches for 8 sentences"):
                client.translate(sources, matches=found[:2])
        if protocol == "grpc":  # the command, once
            lines = tmp_path / "lines.txt"
            lines.write_text("".join(s.replace("\n", " ") + "\n" for s in sources))
            result = subprocess.run(
                [sys.executable, "-m", "translate", "client", str(lines), "--server",
                 server.grpc, "--protocol", "grpc", "--memory", str(corpus)],
                capture_output=True, text=True, timeout=300)
            assert result.returncode == 0, result.stderr[-2000:]
            read = lines.read_text().splitlines()
            expected = model.translate(read, matches=matches.given(
                TranslationMemory.from_corpus(corpus).lookup(read)))
            assert result.stdout.splitlines() == [" ".join(t.splitlines()) for t in expected]
            assert expected != model.translate(read), "the matches were read"


def test_the_endpoint_gives_a_reading_export_each_text_s_memory_match(reading_export, corpus):
    import requests

    from test_endpoint import app_in_thread
    from translate.corpus import normalize
    from translate.endpoint.app import create_app
    from translate.endpoint.languages import LanguagePair
    from translate.exported import ExportedModel

    model = ExportedModel(reading_export)
    tm = TranslationMemory.from_corpus(corpus)
    texts = ["Plain words for the user", "Open the window", "Print the file for the user"]
    found = tm.lookup([normalize(t) for t in texts])
    assert all(0 < m.similarity < 1 for m in found), "the model translates these"
    given = matches.given(found, model.min_match_similarity)
    expected = model.translate(texts, matches=given)
    assert expected != model.translate(texts), "the matches are read"
    # An exact match still comes from the memory, before the model.
    texts.append("Deleted {count} items for the key")
    expected.append("{count} Elemente gelöscht für Schlüssel")
    app = create_app(model, LanguagePair("en", "de"), memory=tm, memory_threshold=1.0,
                     match_from=model.min_match_similarity)
    with app_in_thread(app) as url:
        def ask(**extra):
            return requests.post(url + "/translate", timeout=120, json={
                "q": texts, "source": "en", "target": "de", **extra}).json()
        assert ask() == {"translatedText": expected}
        with_alternatives = ask(alternatives=2)
    n_best = model.n_best(texts[:3], matches=given)
    assert with_alternatives["translatedText"] == [row[0] for row in n_best] + expected[3:]
    assert with_alternatives["alternatives"][:3] == [
        [t for t in dict.fromkeys(row[1:]) if t != row[0]][:2] for row in n_best]


def test_serve_gives_matches_to_a_reading_export_also_through_tf_serving(reading_export,
                                                                        tiny_export):
    import argparse

    from translate import cli
    from translate.exported import ExportedModel

    def match_from(backend, **args):
        options = dict(tf_serving=None, model=None, signature="serving_default")
        return cli._match_from(argparse.Namespace(**{**options, **args}), backend)

    reading = ExportedModel(reading_export)
    assert match_from(reading) == reading.min_match_similarity == 0.0
    assert match_from(reading, signature="translate_greedy") is None, "no greedy twin"
    assert match_from(ExportedModel(tiny_export / "models" / "translator")) is None
    # Through TF Serving, the export --model names says whether the model reads matches.
    assert match_from(None, tf_serving="localhost:8501", model=str(reading_export)) == 0.0
    assert match_from(None, tf_serving="localhost:8501",
                      model=str(tiny_export / "models" / "translator")) is None
    assert match_from(None, tf_serving="localhost:8501") is None
