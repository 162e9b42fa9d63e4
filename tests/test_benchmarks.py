"""The layer benchmark runs (tiny shapes, correctness only: no timing asserts)."""

import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]


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


def test_data_pipeline_benchmark_runs(tmp_path):
    from messages import tiny_corpus

    tiny_corpus(tmp_path, count=500)
    result = subprocess.run(
        [sys.executable, "benchmarks/data_pipeline.py", str(tmp_path / "corpus"),
         "--batches", "5", "--train-batches", "3", "--batch-tokens", "512"],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"pipeline / training = [\d.]+x", result.stdout), result.stdout
