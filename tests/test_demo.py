"""`make demo`'s job (examples/demo.py) end to end on a tiny setting, and
its second run reusing what the first one made."""

import json
import pathlib
import subprocess
import sys

import polib

from messages import synthetic_pairs, write_tsv

ROOT = pathlib.Path(__file__).resolve().parents[1]


def demo(out, tsv):
    result = subprocess.run(
        [sys.executable, "examples/demo.py", "--out", str(out), "--tsv", str(tsv),
         "--preset", "tiny", "--minutes", "0.5", "--vocab-size", "600"],
        cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout


def test_demo_runs_end_to_end_then_reuses_its_work(tmp_path):
    tsv = write_tsv(tmp_path / "pairs.tsv", synthetic_pairs(800))
    out = tmp_path / "demo"
    first = demo(out, tsv)
    assert "$ translate train" in first and "$ translate export" in first
    report = out / "report"
    for name in ("metrics.json", "curves.png", "attention.png", "sample.filled.po"):
        assert (report / name).stat().st_size > 0, name
    metrics = json.loads((report / "metrics.json").read_text())
    systems = [row["system"] for row in metrics["test"]]
    assert systems[0] == "copy" and systems[-2:] == ["model, beam 4", "model + memory, beam 4"]
    assert metrics["training"]["steps"] > 0 and metrics["export"].endswith("translator/1")
    epochs = [json.loads(line) for line in (out / "run" / "metrics.jsonl").read_text().splitlines()]
    assert metrics["training"]["target_tokens_in_finished_epochs"] == sum(
        e["train_tokens"] for e in epochs)
    assert metrics["training"]["cpu"] == metrics["machine"]["cpu"]
    assert f"{metrics['training']['steps']} steps" in first
    assert set(metrics["samples"]) and all(isinstance(t, str) for t in metrics["samples"].values())
    filled = polib.pofile(str(report / "sample.filled.po"))
    assert metrics["catalog"]["filled"] == sum("fuzzy" in e.flags for e in filled)

    second = demo(out, tsv)
    assert "$ translate train" not in second and "$ translate prepare" not in second
    assert "$ translate export" not in second and "$ translate evaluate" not in second
    assert "reusing the finished training" in second
    assert sorted(p.name for p in (out / "export" / "translator").iterdir()) == ["1"]
