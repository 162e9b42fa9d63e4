"""`translate evaluate`, `translate translate` and `translate align` on a
tiny trained run, with and without the translation memory."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from messages import tiny_corpus, tiny_run
from translate.inference import Translator

ROOT = Path(__file__).resolve().parents[1]
ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("inference")
    tiny_run(tiny_corpus(root), root / "run", epochs=3)
    return root


def cli(*args, stdin=None):
    result = subprocess.run([sys.executable, "-m", "translate", *map(str, args)],
                            cwd=ROOT, env=ENV, input=stdin, capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_evaluate_prints_signed_scores_and_writes_hypotheses(run):
    out = cli("evaluate", run / "run", "--tsv", run / "corpus" / "test.tsv", "--beam", "2")
    assert "BLEU" in out and "nrefs:1|case:mixed" in out and "chrF" in out
    lines = (run / "corpus" / "test.tsv").read_text().splitlines()
    hypotheses = (run / "run" / "hypotheses-test-beam2.txt").read_text().splitlines()
    assert len(hypotheses) == len(lines)
    report = json.loads((run / "run" / "evaluation-test-beam2.json").read_text())
    assert 0 <= report["bleu"] <= 100 and report["placeholders"]["with_placeholders"] > 0
    assert report["beam"] == 2


def test_memory_threshold_is_chosen_on_dev_and_used(run):
    out = cli("evaluate", run / "run", "--tsv", run / "corpus" / "test.tsv",
              "--memory", run / "corpus")
    assert "memory used for" in out
    report = json.loads((run / "run" / "evaluation-test-beam4-memory.json").read_text())
    assert report["memory"]["used"] > 0
    cached = json.loads((run / "run" / "memory_threshold.json").read_text())
    assert list(cached) == [str((run / "corpus").resolve())]


def test_translate_from_stdin_keeps_order_and_count(run):
    sentences = ["Could not open file %s for the user", "Deleted {count} items for the key",
                 "See @GPG@ for details for the printer"]
    out = cli("translate", run / "run", "--beam", "1", stdin="\n".join(sentences) + "\n")
    translator = Translator.from_run(run / "run", beam_width=1)
    assert out.splitlines() == translator.translate(sentences)


def test_align_draws_a_heatmap(run, tmp_path):
    cli("align", run / "run", "Saving {0} to {1} for the folder", "--out", tmp_path / "a.png")
    assert (tmp_path / "a.png").read_bytes()[:4] == b"\x89PNG"
    source, target, weights = Translator.from_run(run / "run").alignment(
        "Saving {0} to {1} for the folder")
    assert weights.shape == (len(target), len(source))
    assert abs(weights.sum(axis=1) - 1).max() < 1e-4, "each row is a distribution"
