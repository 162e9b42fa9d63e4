"""The translation memory: lookup, placeholder safety, combining, the threshold,
and the baselines benchmark on a tiny corpus."""

import pathlib
import re
import subprocess
import sys

import pytest

from translate import memory
from translate.memory import Match, Origin, TranslationMemory

ROOT = pathlib.Path(__file__).resolve().parents[1]

PAIRS = [
    ("could not open file %s", "Datei %s konnte nicht geöffnet werden"),
    ("could not close file %s", "Datei %s konnte nicht geschlossen werden"),
    ("could not read %d bytes", "%d Byte konnten nicht gelesen werden"),
    ("the disk is full", "Der Datenträger ist voll"),
    ("printer not found", "Drucker nicht gefunden"),
    ("network connection lost", "Netzwerkverbindung verloren"),
]


@pytest.fixture(scope="module")
def tm():
    return TranslationMemory([s for s, _ in PAIRS], [t for _, t in PAIRS])


def test_nearest_match_is_found(tm):
    matches = tm.lookup(["could not close the file %s", "printer was not found",
                         "the disk is nearly full"])
    assert [m.source for m in matches] == ["could not close file %s", "printer not found",
                                           "the disk is full"]
    assert matches[0].target == "Datei %s konnte nicht geschlossen werden"
    assert all(isinstance(m, Match) and 0.5 < m.similarity < 1.0 for m in matches)


def test_exact_match_has_similarity_one_and_others_less(tm):
    exact, near = tm.lookup(["could not open file %s", "could not open file %s!"])
    assert exact == Match("could not open file %s", "Datei %s konnte nicht geöffnet werden", 1.0)
    assert near.source == "could not open file %s"
    assert near.similarity < 1.0


def test_lookup_is_the_same_in_any_batch_size(tm):
    queries = ["could not open %s", "disk full", "lost network", "read %d bytes", "zzz"]
    small = TranslationMemory([s for s, _ in PAIRS], [t for _, t in PAIRS], batch_size=2)
    assert small.lookup(queries) == tm.lookup(queries)
    assert tm.lookup([]) == []


def test_no_shared_ngram_gives_similarity_zero(tm):
    (match,) = tm.lookup(["ÄÖÜ"])
    assert match.similarity == 0.0


def test_bad_memories_and_queries_are_refused():
    with pytest.raises(ValueError, match="3 sources, 2 targets"):
        TranslationMemory(["a", "b", "c"], ["x", "y"])
    with pytest.raises(ValueError, match="empty"):
        TranslationMemory([], [])
    with pytest.raises(TypeError, match="not one string"):
        TranslationMemory("abc", "xyz")
    with pytest.raises(TypeError, match="not one string"):
        TranslationMemory(["a"], ["x"]).lookup("a")


def test_from_corpus_reads_train_only(tmp_path):
    (tmp_path / "train.tsv").write_text("Open %s\tÖffne %s\nClose\tSchließen\n", encoding="utf-8")
    (tmp_path / "dev.tsv").write_text("Close all\tAlle schließen\n", encoding="utf-8")
    tm = TranslationMemory.from_corpus(tmp_path)
    assert len(tm) == 2
    assert tm.lookup(["Close all"])[0].target == "Schließen"
    with pytest.raises(FileNotFoundError, match="translate prepare"):
        TranslationMemory.from_corpus(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "train.tsv").write_text("", encoding="utf-8")
    with pytest.raises(ValueError, match="empty"):
        TranslationMemory.from_corpus(tmp_path / "empty")


def test_from_corpus_caches_the_fitted_memory(tmp_path, monkeypatch):
    monkeypatch.setenv("TRANSLATE_CACHE_DIR", str(tmp_path / "cache"))
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "train.tsv").write_text("Open %s\tÖffne %s\nClose\tSchließen\n"
                                      "Close the window\tFenster schließen\n", encoding="utf-8")
    queries = ["Close all", "Open %d", "window"]
    fresh = TranslationMemory.from_corpus(corpus).lookup(queries)
    assert TranslationMemory.from_corpus(corpus, cache=True).lookup(queries) == fresh
    cached = sorted((tmp_path / "cache" / "memories").iterdir())
    assert [path.suffix for path in cached] == [".json", ".npz"]
    assert TranslationMemory.from_corpus(corpus, cache=True).lookup(queries) == fresh
    # A broken cache is fitted again; a changed corpus is another key.
    cached[0].write_text("{broken", encoding="utf-8")
    assert TranslationMemory.from_corpus(corpus, cache=True).lookup(queries) == fresh
    (corpus / "train.tsv").write_text("Close all\tAlle schließen\n", encoding="utf-8")
    assert TranslationMemory.from_corpus(corpus, cache=True).lookup(queries)[0].similarity == 1.0
    assert len(list((tmp_path / "cache" / "memories").iterdir())) == 4


def test_placeholder_mismatch_is_never_usable(tm):
    query = "could not open file %d"
    (match,) = tm.lookup([query])
    assert match.source == "could not open file %s" and match.similarity > 0.8
    assert not memory.usable(query, match, threshold=0.0)
    # Even an exact source match is refused when its stored translation lost a placeholder.
    broken = Match("%d files", "Dateien", 1.0)
    assert not memory.usable("%d files", broken, threshold=0.0)
    assert memory.usable("%d files", Match("%d files", "%d Dateien", 1.0), threshold=1.0)
    outputs, origins = memory.combine([query], ["MODEL"], [match], threshold=0.0)
    assert outputs == ["MODEL"] and origins[0].kind == "model"


def test_usable_needs_the_threshold(tm):
    query = "could not close the file %s"
    (match,) = tm.lookup([query])
    assert memory.usable(query, match, threshold=match.similarity)
    assert not memory.usable(query, match, threshold=match.similarity + 1e-6)
    with pytest.raises(ValueError, match="real number"):
        memory.usable(query, match, threshold=float("nan"))


def test_combine_uses_memory_above_threshold_and_model_below(tm):
    sources = ["could not close the file %s", "printer is offline"]
    matches = tm.lookup(sources)
    assert matches[0].similarity > 0.7 > matches[1].similarity
    outputs, origins = memory.combine(sources, ["M1", "M2"], matches, threshold=0.7)
    assert outputs == ["Datei %s konnte nicht geschlossen werden", "M2"]
    assert origins == [Origin("memory", matches[0].similarity),
                       Origin("model", matches[1].similarity)]
    with pytest.raises(ValueError, match="2 sources, 1 model translations, 2 matches"):
        memory.combine(sources, ["M1"], matches, threshold=0.7)


def test_threshold_chosen_on_dev_beats_both_extremes(tm):
    # Near matches whose stored translation is right, and far ones where the
    # copy of the source (a program name, a version) is the right output.
    dev_sources = ["could not open the file %s", "could not close the file %s",
                   "GNU Emacs 29.1", "libfoo 2.0 (x86_64)"]
    dev_references = ["Datei %s konnte nicht geöffnet werden",
                      "Datei %s konnte nicht geschlossen werden",
                      "GNU Emacs 29.1", "libfoo 2.0 (x86_64)"]
    matches = tm.lookup(dev_sources)
    candidates = [0.0, 0.25, 0.5, 0.75, 1.01]  # 1.01: never the memory (copy only)
    scores = dict(memory.threshold_scores(dev_sources, dev_references, matches,
                                          candidates=candidates))
    chosen = memory.choose_threshold(dev_sources, dev_references, matches,
                                     candidates=candidates)
    assert 0.0 < chosen < 1.01
    assert scores[chosen] > scores[0.0] and scores[chosen] > scores[1.01]
    # Without model translations the source is the model's output.
    assert chosen == memory.choose_threshold(dev_sources, dev_references, matches,
                                             model_dev_translations=dev_sources,
                                             candidates=candidates)
    assert memory.choose_threshold(dev_sources, dev_references, matches) in \
        memory.DEFAULT_THRESHOLDS
    with pytest.raises(ValueError, match="no candidate"):
        memory.choose_threshold(dev_sources, dev_references, matches, candidates=[])


def test_the_match_floor_chosen_on_dev_keeps_far_matches_from_the_model():
    # Given its match, the model is right on the near messages and wrong on
    # the far ones (a far match misleads it); given none, the other way round.
    references = ["Datei öffnen", "Datei schließen", "Drucker", "Hilfe"]
    reading = ["Datei öffnen", "Datei schließen", "Datei", "Datei drucken"]
    without = ["Öffnen", "Schließen", "Drucker", "Hilfe"]
    similarities = [0.95, 0.75, 0.55, 0.3]
    floor, scores = memory.choose_match_floor(references, reading, without, similarities)
    assert floor == 0.7
    scores = dict(scores)
    assert scores[0.7] == 100.0 and scores[0.0] < 100.0 and scores[1.0] < 100.0
    assert list(dict(memory.choose_match_floor(references, reading, without, similarities)[1])
                ) == list(memory.MATCH_FLOORS)
    # A tie gives the match no more than it earns: the highest floor.
    assert memory.choose_match_floor(references, references, references, similarities)[0] == 1.0
    with pytest.raises(ValueError, match="differ in length"):
        memory.choose_match_floor(references, reading, without[:3], similarities)


def test_baselines_benchmark_runs_on_a_tiny_corpus(tmp_path):
    from messages import tiny_corpus

    tiny_corpus(tmp_path, count=500)
    result = subprocess.run(
        [sys.executable, "benchmarks/baselines.py", str(tmp_path / "corpus"),
         "--json", str(tmp_path / "baselines.json")],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    rows = re.findall(r"^\| (copy|memory|memory >= [\d.]+, else copy) \| [\d.]+ \| [\d.]+ \|",
                      result.stdout, re.MULTILINE)
    assert len(rows) == 3, result.stdout
    assert re.search(r"threshold [\d.]+: chosen by chrF on dev \(\d+ sentences\), not on test",
                     result.stdout), result.stdout
    assert "BLEU signature: nrefs:1" in result.stdout
    assert re.search(r"lookup of \d+ sentences: [\d.]+ s", result.stdout), result.stdout
    assert (tmp_path / "baselines.json").exists()
