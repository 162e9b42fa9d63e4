"""The benchmarks run (tiny shapes, correctness only: no timing asserts)."""

import json
import pathlib
import re
import subprocess
import sys

import pytest

from translate.localize.catalogs import read_catalog

ROOT = pathlib.Path(__file__).resolve().parents[1]


@pytest.mark.layer
def test_gru_benchmark_quick_mode_runs_and_layers_agree(tmp_path):
    result = subprocess.run(
        [sys.executable, "benchmarks/gru_layer.py", "--quick",
         "--json", str(tmp_path / "rows.json")],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    rows = re.findall(r"^\| \(\d.*$", result.stdout, re.MULTILINE)
    # two shapes forward, two train, one train with dropout
    assert len(rows) == 5, result.stdout
    assert (tmp_path / "rows.json").exists()


def test_deployment_benchmark_quick_mode_converts_and_agrees():
    result = subprocess.run(
        [sys.executable, "benchmarks/deployment.py", "--quick"],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    entries = re.findall(r"^\| (?:TFLite|  \+|model\.export|tf2onnx)[^|]*\| "
                         r"([^|]+) \|", result.stdout, re.MULTILINE)
    assert len(entries) == 7, result.stdout
    # every entry converts and runs; float ones within 1e-5 of Keras
    errors = [float(e) for e in entries]
    assert max(errors[:1] + errors[2:]) <= 1e-5, result.stdout
    speeds = re.findall(r"^\| \(\d.*\| ([\d.e+-]+), ([\d.e+-]+) \|$",
                        result.stdout, re.MULTILINE)
    assert len(speeds) == 2, result.stdout
    assert max(float(v) for row in speeds for v in row) <= 1e-5, result.stdout


def test_data_pipeline_benchmark_runs(tmp_path):
    from messages import tiny_corpus

    tiny_corpus(tmp_path, count=500)
    result = subprocess.run(
        [sys.executable, "benchmarks/data_pipeline.py", str(tmp_path / "corpus"),
         "--batches", "5", "--train-batches", "3", "--batch-tokens", "512"],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"pipeline / training = [\d.]+x", result.stdout), result.stdout


def test_serving_benchmark_runs_on_an_export(tiny_export):
    result = subprocess.run(
        [sys.executable, "benchmarks/serving.py", "--export", str(tiny_export / "models"),
         "--tsv", str(tiny_export / "pairs.tsv"), "--requests", "3", "--warmup", "1",
         "--batches", "1"],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "models/translator/1;" in result.stdout, "the export's only version"
    rows = re.findall(r"^\| (serving_default|translate_greedy) .*\|$", result.stdout,
                      re.MULTILINE)
    assert rows == ["serving_default", "translate_greedy"], result.stdout
    assert re.search(r"beam \d+ / greedy median latency: [\d.]+x", result.stdout)
    assert re.search(r"target greedy median <= 20 ms: (met|NOT met)", result.stdout)


def test_translation_benchmark_runs_with_a_config(tiny_export, tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text("preset: tiny\nmodel: {decoder_units: 48, encoder_layers: 2}\n")
    result = subprocess.run(
        [sys.executable, "benchmarks/translation.py", str(tiny_export / "corpus"),
         "--config", str(config), "--train-steps", "3"],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"model: [\d,]+ parameters", result.stdout)
    assert re.search(r"training, .*config.yaml, 3 batches: [\d,]+ target tokens/s "
                     r"\(first pass, compiling: [\d,]+\)", result.stdout), result.stdout


def test_endpoint_benchmark_runs_on_an_export(tiny_export):
    result = subprocess.run(
        [sys.executable, "benchmarks/endpoint.py", "--export",
         str(tiny_export / "models" / "translator"), "--signature", "translate_greedy",
         "--requests", "3", "--warmup", "1", "--clients", "2", "--seconds", "0.5",
         "--rounds", "1"],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    rows = re.findall(r"^\| (batching|no batching) .*\|$", result.stdout, re.MULTILINE)
    assert rows == ["batching", "no batching"], result.stdout
    assert re.search(r"^CPU: .+, \d+ cores; load average", result.stdout, re.MULTILINE)
    assert re.search(r"batching / no batching throughput: [\d.]+x; target >= 3x: "
                     r"(met|NOT met)", result.stdout)
    assert re.search(r"median latency with batching: [\d.]+ ms; target <= 25 ms: "
                     r"(met|NOT met)", result.stdout)


def test_shortlist_benchmark_compares_exports_quality_and_batch_gain(tiny_export):
    export = str(tiny_export / "models" / "translator" / "1")
    result = subprocess.run(
        [sys.executable, "benchmarks/shortlist.py", str(tiny_export / "corpus"), export, export,
         "--groups", "1", "--rounds", "1"],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"^CPU: .+, \d+ cores$", result.stdout, re.MULTILINE)
    for split in ("dev", "test"):
        rows = re.findall(rf"^{split} .+: BLEU [\d.]+ chrF [\d.]+; (\d+) of \d+ differ",
                          result.stdout, re.MULTILINE)
        assert rows == ["0", "0"], result.stdout  # the same export twice
    assert len(re.findall(r"8 calls of one / one call of 8: [\d.]+x$", result.stdout,
                          re.MULTILINE)) == 2, result.stdout


def test_startup_benchmark_times_translate_po_against_import_tensorflow(tiny_export, tmp_path):
    result = subprocess.run(
        [sys.executable, "benchmarks/startup.py", "--model",
         str(tiny_export / "models" / "translator"),
         "--memory", str(tiny_export / "corpus"), "--catalog",
         str(ROOT / "tests" / "data" / "format_safety.po"), "--entries", "10", "--rounds", "1",
         "--work", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert report["entries"] == 10 and len(report["seconds"]) == 1
    assert len(read_catalog(tmp_path / "catalog10.po")) == 10
    assert report["summary"][0].startswith(f"{tmp_path / 'filled.po'}: filled ")
    assert re.search(r"median [\d.]+ s \(target <= 10 s: (met|not met)\)", result.stdout)
    assert re.search(r"translate po / import tensorflow: [\d.]+$", result.stdout, re.MULTILINE)


def test_toolkit_benchmark_gives_the_toolkit_the_same_pieces_and_reads_its_log(tiny_export,
                                                                              tmp_path):
    """OpenNMT-tf itself is not installed here (its TensorFlow 2.13 is not
    ours): what the script hands it and reads back from it is checked."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import toolkit
    from translate import prepare, tokenizer

    corpus = tiny_export / "corpus"
    toolkit.write_pieces(corpus, tmp_path)
    sources = (tmp_path / "train.src").read_text(encoding="utf-8").splitlines()
    targets = (tmp_path / "train.tgt").read_text(encoding="utf-8").splitlines()
    pairs = (corpus / "train.tsv").read_text(encoding="utf-8").splitlines()
    assert len(sources) == len(targets) == len(pairs)
    processor = tokenizer.load_processor(prepare.tokenizer_paths(corpus)[0])
    vocabulary = (tmp_path / "vocab.txt").read_text(encoding="utf-8").splitlines()
    assert len(vocabulary) == processor.get_piece_size()
    assert set(" ".join(sources + targets).split()) <= set(vocabulary)
    # A masked message reads its sentinel as one piece, as our model does.
    assert any("｟1｠" in line.split() for line in sources)

    log = ("2026-12-05 04:31:59.920000: I runner.py:310] Step = 20 ; steps/s = 1.37, "
           "tokens/s = 4794 (2147 source, 2647 target) ; Learning rate = 0.001000 ; Loss = 6.4\n")
    assert toolkit._RATE.findall(log) == [("20", "1.37", "2147", "2647")]


def test_step_profile_times_each_part_and_the_whole_step(tiny_export, tmp_path):
    settings = tmp_path / "tiny.json"
    settings.write_text(json.dumps({"preset": "tiny", "model": {"copy": False}}))
    result = subprocess.run(
        [sys.executable, "benchmarks/step_profile.py", str(tiny_export / "corpus"),
         "--config", str(settings), "--batches", "2"],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    rows = dict(re.findall(r"^\| ([^|]+?) \| ([0-9.-]+) \|", result.stdout, re.MULTILINE))
    parts = ["embeddings + encoder", "decoder GRUs", "attention + combine", "projection + loss",
             "optimizer (Adam, clipping)", "whole step (model.fit)"]
    assert all(float(rows[name]) > 0 for name in parts), result.stdout
    assert "target tokens/s" in result.stdout


def test_segments_benchmark_compares_whole_and_segmented_messages(tiny_export, tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "dev.tsv").write_text("Open the file. Close it.\tDatei öffnen. Schließen.\n"
                                    "One line\tEine Zeile\n"
                                    "Stop. Go now!\tHalt. Jetzt los!\n", encoding="utf-8")
    (corpus / "test.tsv").write_text("One line\tEine Zeile\n", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "benchmarks/segments.py", str(corpus),
         str(tiny_export / "models" / "translator" / "1"), "--splits", "dev", "test"],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"^dev .+: 2 messages of several segments; whole BLEU [\d.]+ chrF [\d.]+; "
                     r"in segments BLEU [\d.]+ chrF [\d.]+ \([+-][\d.]+ chrF\)$", result.stdout,
                     re.MULTILINE), result.stdout
    assert re.search(r"^test .+: no message of several segments$", result.stdout, re.MULTILINE)
