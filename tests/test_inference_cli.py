"""`translate evaluate`, `translate translate` and `translate align` on a
tiny trained run, with and without the translation memory."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from messages import tiny_corpus, tiny_run
from translate import checks
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
    checked = report["checks"]  # on by default: the toolkit is installed
    assert checked["hypotheses"]["sentences"] == checked["references"]["sentences"] == len(lines)
    assert "printf" in checked["hypotheses"]["per_100"] and "printf" in checked["critical"]
    assert "check failures per 100 sentences, hypotheses / references" in out
    assert f"  any check {checked['hypotheses']['failing_per_100']:.1f} / " in out
    off = cli("evaluate", run / "run", "--tsv", run / "corpus" / "test.tsv", "--beam", "2",
              "--no-checks")
    assert "checks: not run (--no-checks)" in off
    assert json.loads((run / "run" / "evaluation-test-beam2.json").read_text())["checks"] is None


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


def test_translate_with_a_bfloat16_projection_warns_where_it_is_slower(run):
    from translate.machine import has_bfloat16_matmuls

    lines = ["Open file", "Save %s", "Quit"]
    result = subprocess.run(
        [sys.executable, "-m", "translate", "translate", str(run / "run"),
         "--inference-precision", "bfloat16"], cwd=ROOT, env=ENV, input="\n".join(lines),
        capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert len(result.stdout.splitlines()) == len(lines)
    warned = "does not multiply natively" in result.stderr
    assert warned is not has_bfloat16_matmuls()


def test_translate_check_prints_each_line_s_first_passing_hypothesis(run):
    sentences = ["Could not open file %s for the user", "Deleted {count} items for the key",
                 "See <b>@GPG@</b> for details, 3 times, at https://example.org/a"]
    result = subprocess.run(
        [sys.executable, "-m", "translate", "translate", str(run / "run"), "--beam", "2",
         "--check", "--language", "de"], cwd=ROOT, env=ENV, input="\n".join(sentences) + "\n",
        capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    translator = Translator.from_run(run / "run", beam_width=2)
    n_best = getattr(translator, "n_best", None)  # the translator of issue 13 has one
    hypotheses = (n_best(sentences) if n_best else
                  [[text] for text in translator.translate(sentences)])
    with checks.Checker("de") as checker:
        chosen = checks.choose_many(checker, sentences, hypotheses)
    assert result.stdout.splitlines() == [h[index or 0] for h, (index, _) in
                                          zip(hypotheses, chosen)]
    kept = sum(index is None for index, _ in chosen)
    assert f"checks: {3 - kept} of 3 lines passed" in result.stderr.splitlines()[-1]
    assert result.stderr.count("no hypothesis passes the checks") == kept


def test_align_draws_a_heatmap(run, tmp_path):
    cli("align", run / "run", "Saving {0} to {1} for the folder", "--out", tmp_path / "a.png")
    assert (tmp_path / "a.png").read_bytes()[:4] == b"\x89PNG"
    source, target, weights = Translator.from_run(run / "run").alignment(
        "Saving {0} to {1} for the folder")
    assert weights.shape == (len(target), len(source))
    assert abs(weights.sum(axis=1) - 1).max() < 1e-4, "each row is a distribution"


def test_evaluate_and_translate_follow_a_glossary(run, tmp_path):
    from messages import NOUNS

    # Every synthetic message ends "for the <noun>"; the corpus says Schlüssel for key.
    terms = [(noun, "Taste" if noun == "key" else nomen) for noun, nomen in NOUNS]
    glossary = tmp_path / "terms.csv"
    glossary.write_text("source,target,comment\n" + "".join(f"{s},{t},\n" for s, t in terms),
                        encoding="utf-8")
    out = cli("evaluate", run / "run", "--tsv", run / "corpus" / "test.tsv", "--beam", "2",
              "--no-checks", "--glossary", glossary)
    report = json.loads((run / "run" / "evaluation-test-beam2-glossary.json").read_text())
    hypotheses, references = report["glossary"]["hypotheses"], report["glossary"]["references"]
    sources = [line.split("\t")[0] for line in
               (run / "corpus" / "test.tsv").read_text().splitlines()]
    assert hypotheses["with_terms"] == references["with_terms"] == len(sources)
    with_key = sum(s.endswith(" key") for s in sources)
    assert references["missed"].get("key", 0) == with_key
    assert references["following"] == len(sources) - with_key
    assert f"glossary terms followed (hypotheses): {100 * hypotheses['rate']:.1f}%" in out
    lines = "Could not open file %s for the key\nSave\n"
    translated = cli("translate", run / "run", "--glossary", glossary, stdin=lines)
    assert len(translated.splitlines()) == 2


def test_a_bad_glossary_is_named_by_file_and_line(run, tmp_path):
    glossary = tmp_path / "terms.csv"
    glossary.write_text("source,target\nprinter,Drucker\nprinter,Printer\nfolder,\n",
                        encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "translate", "translate", str(run / "run"),
                             "--glossary", str(glossary)], cwd=ROOT, env=ENV, input="x\n",
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 2
    assert f"{glossary}:4: the term 'folder' has an empty target" in result.stderr
    assert "Traceback" not in result.stderr
