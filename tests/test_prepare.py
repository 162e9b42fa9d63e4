"""`translate prepare`: corpora in, a complete corpus directory out."""

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import polib
import pytest

from messages import synthetic_pairs, write_tsv
from translate.corpus import CorpusError
from translate.prepare import prepare_corpus

ROOT = Path(__file__).resolve().parents[1]


def run_cli(*args):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    return subprocess.run([sys.executable, "-m", "translate", "prepare", *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture
def tsv(tmp_path):
    return write_tsv(tmp_path / "pairs.tsv", synthetic_pairs(2000, seed=4))


def test_cli_writes_a_complete_corpus_directory(tmp_path, tsv):
    out = tmp_path / "corpus"
    result = run_cli("--tsv", str(tsv), "--out", str(out), "--vocab-size", "600",
                     "--dev-fraction", "0.05", "--test-fraction", "0.05")
    assert result.returncode == 0, result.stderr
    assert "train" in result.stdout
    manifest = json.loads((out / "manifest.json").read_text())
    splits = manifest["counts"]["splits"]
    lines = {name: (out / f"{name}.tsv").read_text().splitlines() for name in splits}
    assert {name: len(v) for name, v in lines.items()} == splits
    assert splits["dev"] > 0 and splits["test"] > 0
    sources = [set(line.split("\t")[0] for line in v) for v in lines.values()]
    assert not (sources[0] & sources[1] or sources[0] & sources[2]), "no leak"
    for name, digest in manifest["sha256"].items():
        assert hashlib.sha256((out / name).read_bytes()).hexdigest() == digest
    assert (out / manifest["tokenizer"]["source"]).exists()
    assert manifest["split_rule"]["by"] == "hash"
    assert manifest["counts"]["filters"]["duplicate_source"] > 0


def test_bad_line_is_named_and_nothing_is_written(tmp_path, tsv):
    with open(tsv, "a", encoding="utf-8") as f:
        f.write("no tab on this line\n")
    bad_line = len(tsv.read_text().splitlines())
    out = tmp_path / "corpus"
    result = run_cli("--tsv", str(tsv), "--out", str(out))
    assert result.returncode == 2
    assert f"{tsv}:{bad_line}" in result.stderr and "Traceback" not in result.stderr
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["pairs.tsv"]

    result = run_cli("--tsv", str(tsv), "--out", str(out), "--skip-bad-lines",
                     "--vocab-size", "600")
    assert result.returncode == 0, result.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["counts"]["filters"]["bad_lines"] == 1


def test_existing_corpus_is_kept_without_force(tmp_path, tsv):
    out = tmp_path / "corpus"
    out.mkdir()
    result = run_cli("--tsv", str(tsv), "--out", str(out))
    assert result.returncode == 2 and "already exists" in result.stderr


def test_po_catalogs_and_split_by_catalog(tmp_path):
    paths = []
    for k in range(12):
        catalog = polib.POFile()
        catalog.metadata = {"Content-Type": "text/plain; charset=UTF-8"}
        for i, (source, target) in enumerate(synthetic_pairs(60, seed=k)):
            catalog.append(polib.POEntry(msgid=f"{source} ({k}.{i})",
                                         msgstr=f"{target} ({k}.{i})"))
        path = tmp_path / f"program{k}.po"
        catalog.save(str(path))
        paths.append(path)
    manifest = prepare_corpus(tmp_path / "corpus", po=paths, split_by="catalog",
                              dev_fraction=0.1, test_fraction=0.1, vocab_size=600)
    origins = {name: {line.split("\t")[0].split("(")[-1].split(".")[0]
                      for line in (tmp_path / "corpus" / f"{name}.tsv").read_text().splitlines()}
               for name in ("train", "dev", "test")}
    assert origins["test"] and origins["dev"]
    assert not (origins["train"] & origins["test"]) and not (origins["train"] & origins["dev"])
    assert manifest["split_rule"]["by"] == "catalog"
    held_out = manifest["held_out_sources"]
    assert {str(k) for k in origins["test"]} == {
        Path(p).stem.replace("program", "") for p in held_out["test"]}


def test_empty_corpus_is_an_error(tmp_path):
    empty = tmp_path / "empty.tsv"
    empty.write_text("")
    with pytest.raises(CorpusError):
        prepare_corpus(tmp_path / "corpus", tsv=[empty])
    assert not (tmp_path / "corpus").exists()


@pytest.mark.skipif(not list(Path("/usr/share/locale/de/LC_MESSAGES").glob("*.mo")),
                    reason="no German gettext catalogs installed on this machine")
def test_system_gettext_catalogs(tmp_path):
    manifest = prepare_corpus(tmp_path / "de", gettext="de", vocab_size=2000)
    assert manifest["counts"]["splits"]["train"] > 20_000
