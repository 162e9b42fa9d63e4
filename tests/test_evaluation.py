"""BLEU/chrF scoring against sacrebleu itself, placeholder accuracy, TSV pairs."""

import pytest
import sacrebleu

from translate import evaluation

HYPOTHESES = ["Datei %s konnte nicht geöffnet werden", "Drucker nicht gefunden",
              "{count} Elemente gelöscht", "Fenster schließen"]
REFERENCES = ["Datei %s konnte nicht geöffnet werden", "Der Drucker wurde nicht gefunden",
              "{count} Einträge gelöscht", "Das Fenster schließen"]


def test_score_matches_sacrebleu_computed_directly():
    result = evaluation.score(HYPOTHESES, REFERENCES)
    assert result["bleu"] == pytest.approx(
        sacrebleu.corpus_bleu(HYPOTHESES, [REFERENCES]).score)
    assert result["chrf"] == pytest.approx(
        sacrebleu.corpus_chrf(HYPOTHESES, [REFERENCES]).score)
    assert result["sentences"] == 4
    assert 0 < result["bleu"] < 100 and 0 < result["chrf"] < 100
    bleu, chrf = sacrebleu.metrics.BLEU(), sacrebleu.metrics.CHRF()
    bleu.corpus_score(HYPOTHESES, [REFERENCES])
    chrf.corpus_score(HYPOTHESES, [REFERENCES])
    assert result["bleu_signature"] == str(bleu.get_signature())
    assert result["chrf_signature"] == str(chrf.get_signature())
    assert "tok:13a" in result["bleu_signature"]
    assert f"version:{sacrebleu.__version__}" in result["chrf_signature"]


def test_perfect_translations_score_100():
    result = evaluation.score(REFERENCES, REFERENCES)
    assert result["bleu"] == pytest.approx(100)
    assert result["chrf"] == pytest.approx(100)
    assert evaluation.chrf(REFERENCES, REFERENCES) == pytest.approx(100)


def test_score_rejects_mismatched_empty_and_bare_strings():
    with pytest.raises(ValueError, match="4 hypotheses, 3 references"):
        evaluation.score(HYPOTHESES, REFERENCES[:3])
    with pytest.raises(ValueError, match="empty"):
        evaluation.score([], [])
    with pytest.raises(TypeError, match="not one string"):
        evaluation.score("Datei", "Datei")
    with pytest.raises(TypeError, match=r"references\[1\] must be a str"):
        evaluation.score(["a", "b"], ["a", None])


def test_placeholder_accuracy_counts_exact_multisets():
    sources = ["Could not open %s", "%d of %d files", "Saving {0} to {1}",
               "No placeholder here", "Using $HOME"]
    hypotheses = ["%s konnte nicht geöffnet werden",  # kept
                  "%d von Dateien",                     # one %d lost
                  "{1}: {0} wird gespeichert",          # reordered: kept
                  "Kein Platzhalter %s",                # not counted: no source placeholder
                  "Verwende $HEIM"]                     # renamed: lost
    result = evaluation.placeholder_accuracy(sources, hypotheses)
    assert result == {"accuracy": 2 / 4, "with_placeholders": 4, "reproduced": 2,
                      "sentences": 5}


def test_placeholder_accuracy_without_placeholders_is_none():
    result = evaluation.placeholder_accuracy(["Hello"], ["Hallo"])
    assert result["accuracy"] is None and result["with_placeholders"] == 0
    with pytest.raises(ValueError, match="2 sources, 1 hypotheses"):
        evaluation.placeholder_accuracy(["a %s", "b"], ["a %s"])


def test_read_tsv_pairs(tmp_path):
    path = tmp_path / "test.tsv"
    path.write_text("Open %s\tÖffne %s\nClose\tSchließen\textra column\n", encoding="utf-8")
    assert evaluation.read_tsv_pairs(path) == (["Open %s", "Close"], ["Öffne %s", "Schließen"])
    with pytest.raises(FileNotFoundError):
        evaluation.read_tsv_pairs(tmp_path / "missing.tsv")
