"""`translate adapt`: a tiny run adapted to a tiny catalog, mixed with its
own corpus, resumed after kill -9, exported; and the errors of bad inputs."""

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from killing import kill_after_checkpoint
from messages import NOUNS, tiny_corpus, write_tsv
from translate import adaptation, config, training
from translate.corpus import CorpusError, read_tsv

ROOT = Path(__file__).resolve().parents[1]
ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")

# A project's messages, unlike the tiny corpus's: its own terms.
PROJECT = [("Upload an image for the {}", "Ein Bild für {} hochladen"),
           ("Move the {} to the clipboard", "{} in die Zwischenablage verschieben"),
           ("Share the {} with your team", "{} mit dem Team teilen"),
           ("Rename the {} in the library", "{} in der Bibliothek umbenennen")]


def project_entries(count):
    """`count` distinct (msgid, msgstr) pairs of the project."""
    pairs = [(source.format(noun), target.format(nomen))
             for source, target in PROJECT for noun, nomen in NOUNS]
    assert count <= len(pairs)
    return pairs[:count]


def po_text(entries, extra=""):
    """A UTF-8 German catalog of `entries`, with `extra` entries after them."""
    body = "".join(f'\nmsgid "{s}"\nmsgstr "{t}"\n' for s, t in entries)
    return ('msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n'
            '"Plural-Forms: nplurals=2; plural=(n != 1);\\n"\n' + body + extra)


# One entry of each kind that is not learnt, and a plural entry that gives two pairs.
SKIPPED_AND_PLURAL = """
#, fuzzy
msgid "Close the album"
msgstr "Album schließen"

msgid "Open the album"
msgstr ""

#~ msgid "Old album"
#~ msgstr "Altes Album"

msgid "One album selected"
msgid_plural "%d albums selected"
msgstr[0] "Ein Album ausgewählt"
msgstr[1] "%d Alben ausgewählt"
"""


def write_catalog(path, entries, extra=""):
    path.write_text(po_text(entries, extra), encoding="utf-8")
    return path


def adapt_command(base, out, *inputs, extra=()):
    return [sys.executable, "-m", "translate", "adapt", str(base), *map(str, inputs),
            "--run-dir", str(out), *extra]


def digests(directory):
    """Every file under `directory` with the sha256 of its bytes."""
    return {str(p.relative_to(directory)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(Path(directory).rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """A tiny trained run (12 steps) whose config lets an adaptation run 4
    epochs without early stopping, and a catalog of 40 project entries."""
    root = tmp_path_factory.mktemp("adapt")
    corpus = tiny_corpus(root)
    settings = config.preset("tiny")
    settings["train"].update(epochs=4, early_stopping_patience=100)
    training.train(corpus, root / "run", settings, verbose=0, max_steps=12)
    write_catalog(root / "project.po", project_entries(40), SKIPPED_AND_PLURAL)
    return root


def test_catalog_pairs_are_the_translated_entries_cleaned(tmp_path):
    entries = project_entries(3) + [("Upload an image for the  file", "doppelt")]
    catalog = write_catalog(tmp_path / "de.po", entries, SKIPPED_AND_PLURAL)
    tsv = write_tsv(tmp_path / "more.tsv", [("Crop the photo ", " Foto zuschneiden"),
                                            ("Upload an image for the user", "Duplikat")])
    pairs, inputs = adaptation.catalog_pairs([catalog], [tsv])
    assert [(p.source, p.target) for p in pairs] == [
        *project_entries(3),
        ("One album selected", "Ein Album ausgewählt"),
        ("%d albums selected", "%d Alben ausgewählt"),
        ("Crop the photo", "Foto zuschneiden")]
    assert inputs == [
        {"po": str(catalog), "sha256": hashlib.sha256(catalog.read_bytes()).hexdigest(),
         "read": 6, "kept": 5},
        {"tsv": str(tsv), "sha256": hashlib.sha256(tsv.read_bytes()).hexdigest(),
         "read": 2, "kept": 1}]
    with pytest.raises(ValueError, match="nothing to adapt on"):
        adaptation.catalog_pairs()


def test_mix_keeps_the_base_corpus_in_every_epoch_in_proportion(base, tmp_path):
    pairs, inputs = adaptation.catalog_pairs([base / "project.po"])
    in_domain = {(p.source, p.target) for p in pairs}
    general = [(p.source, p.target) for p in read_tsv(base / "corpus" / "train.tsv")]
    for mix in (0.5, 0.25):
        out = tmp_path / f"mix-{mix}"
        record = adaptation.prepare_adaptation(base / "run", pairs, inputs, out, mix=mix)
        # One epoch is one pass over train.tsv: both kinds, in the share asked for.
        lines = [(p.source, p.target) for p in read_tsv(out / "corpus" / "train.tsv")]
        ours = [line for line in lines if line in in_domain]
        assert len(ours) == record["copies"] * len(in_domain) == record["copies"] * 42
        assert all(ours.count(pair) == record["copies"] for pair in in_domain)
        assert set(lines) - in_domain <= set(general)
        assert len(lines) - len(ours) == record["general_pairs"] > 0.9 * len(general)
        assert abs(len(ours) / len(lines) - mix) < 0.02
        assert record["in_domain_share"] == len(ours) / len(lines)
        # Shuffled: the project's pairs are spread over the file.
        halves = (lines[: len(lines) // 2], lines[len(lines) // 2:])
        assert all(0.3 < sum(line in in_domain for line in half) / len(half) / mix < 1.7
                   for half in halves)
        # The base corpus's vocabulary, dev and test splits.
        for name in ("spm.model", "dev.tsv", "test.tsv"):
            assert (out / "corpus" / name).read_bytes() == (base / "corpus" / name).read_bytes()
        assert json.loads((out / "adapt.json").read_text()) == record
        assert record["inputs"][0]["kept"] == 42 and record["mix"] == mix


def test_a_resumption_with_other_inputs_is_an_error(base, tmp_path):
    pairs, inputs = adaptation.catalog_pairs([base / "project.po"])
    out = tmp_path / "out"
    first = adaptation.prepare_adaptation(base / "run", pairs, inputs, out)
    train = (out / "corpus" / "train.tsv").read_bytes()
    assert adaptation.prepare_adaptation(base / "run", pairs, inputs, out) == first
    with pytest.raises(ValueError, match="made from other inputs"):
        adaptation.prepare_adaptation(base / "run", pairs[1:], inputs, out)
    with pytest.raises(ValueError, match="made from other inputs"):
        adaptation.prepare_adaptation(base / "run", pairs, inputs, out, mix=0.3)
    assert (out / "corpus" / "train.tsv").read_bytes() == train
    with pytest.raises(ValueError, match="a run directory of its own"):
        adaptation.prepare_adaptation(base / "run", pairs, inputs, base / "run")


def test_adaptation_starts_from_the_base_weights_and_exports(base, tmp_path):
    from translate.export import export
    from translate.inference import Translator

    before = digests(base)
    out = tmp_path / "out"
    settings = adaptation.adaptation_config(base / "run", learning_rate=1e-3)
    record, result = adaptation.adapt(base / "run", out, settings, po=[base / "project.po"],
                                      max_steps=15, verbose=0)
    assert result["stopped"] == "max_steps" and result["step"] == 15
    assert record["in_domain_pairs"] == 42
    # Its own steps, from 0: checkpoints at the epochs' ends and at the stop.
    import tensorflow as tf
    assert tf.train.latest_checkpoint(str(out / "checkpoints")).endswith("ckpt-15")
    records = training.read_metrics(out)
    assert records and all(r["step"] < 15 for r in records)
    assert (out / "checkpoints" / f"ckpt-{records[-1]['step']}.index").exists()
    assert json.loads((out / "config.json").read_text()) == settings
    assert settings["train"]["learning_rate"] == 1e-3
    assert settings["model"] == json.loads((base / "run" / "config.json").read_text())["model"]
    assert json.loads((out / "run.json").read_text())["corpus_dir"] == str(
        (out / "corpus").resolve())
    version = export(out, tmp_path / "models")
    assert (version / "saved_model.pb").exists()
    decoding = json.loads((version / "assets" / "decoding.json").read_text())
    assert decoding["run_dir"] == str(out.resolve())
    assert digests(base) == before, "the base run and its corpus are not modified"

    # A rate of almost zero leaves the base's weights: they are where it starts.
    still = tmp_path / "still"
    adaptation.adapt(base / "run", still, adaptation.adaptation_config(base / "run", 1e-12),
                     po=[base / "project.po"], max_steps=1, verbose=0)
    weights = [Translator.from_run(run).model.get_weights() for run in (base / "run", still)]
    for start, adapted in zip(*weights, strict=True):
        np.testing.assert_allclose(adapted, start, atol=1e-6)


def test_killed_adaptation_resumes_and_ends_where_an_uninterrupted_one_does(base, tmp_path):
    settings = adaptation.adaptation_config(base / "run")
    _, uninterrupted = adaptation.adapt(base / "run", tmp_path / "whole", settings,
                                        po=[base / "project.po"], verbose=0)
    assert uninterrupted["stopped"] == "done" and uninterrupted["epoch"] == 4
    steps = uninterrupted["step"]

    out = tmp_path / "out"
    command = adapt_command(base / "run", out, "--po", base / "project.po")
    saved_step = kill_after_checkpoint(command, out / "checkpoints", steps // 2, cwd=ROOT,
                                       env=ENV)
    assert 0 < saved_step < steps

    result = subprocess.run(command, cwd=ROOT, env=ENV, capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"resumed from step {saved_step}" in result.stdout
    # Exact resumption: the same batches, so the same number of steps.
    assert f"step {steps}, epoch 4, stopped: done" in result.stdout
    assert [r["epoch"] for r in training.read_metrics(out)] == list(range(1, 5))
    assert (out / "corpus" / "train.tsv").read_bytes() == (
        tmp_path / "whole" / "corpus" / "train.tsv").read_bytes()


def test_too_few_entries_is_an_error_naming_the_catalogs(base, tmp_path):
    catalog = write_catalog(tmp_path / "small.po", project_entries(7), SKIPPED_AND_PLURAL)
    tsv = write_tsv(tmp_path / "few.tsv", [("Crop the photo", "Foto zuschneiden")])
    out = tmp_path / "out"
    result = subprocess.run(
        adapt_command(base / "run", out, "--po", catalog, "--tsv", tsv), cwd=ROOT, env=ENV,
        capture_output=True, text=True, timeout=300)
    assert result.returncode == 2
    assert (f"translate adapt: error: too few pairs to adapt on: {catalog} has 9 translated "
            f"entries, {tsv} has 1 pair; adaptation needs at least 20.") in result.stderr
    assert "Traceback" not in result.stderr and not out.exists()


@pytest.mark.parametrize("kind", ["po", "tsv"])
def test_a_malformed_input_is_an_error_naming_file_and_line(base, tmp_path, kind):
    if kind == "po":
        bad = write_catalog(tmp_path / "bad.po", project_entries(30), '\nmsgid "x"\nbogus "y"\n')
        where = rf"{bad}:\d+: not a valid \.po catalog"
    else:
        bad = write_tsv(tmp_path / "bad.tsv", project_entries(30))
        bad.write_text(bad.read_text() + "no tab here\n")
        where = rf"{bad}:31: expected 'source<TAB>target', found no tab"
    result = subprocess.run(adapt_command(base / "run", tmp_path / "out", f"--{kind}", bad),
                            cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=300)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert re.search(f"translate adapt: error: {where}", result.stderr), result.stderr
    with pytest.raises(CorpusError, match=where):
        adaptation.catalog_pairs(**{kind: [bad]})


def test_the_benchmark_blanks_a_stable_fifth_and_refuses_held_out_packages():
    import importlib

    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        benchmark = importlib.import_module("adaptation")
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    from translate.corpus import Pair

    pairs = [Pair(f"Message {i}", f"Meldung {i}", "x.po", i) for i in range(500)]
    adapt, blanked = benchmark.split_blanked(pairs)
    assert sorted(adapt + blanked) == sorted(pairs) and not set(adapt) & set(blanked)
    assert 70 < len(blanked) < 130
    # By the source alone: the same pair is blanked in any catalog.
    assert benchmark.split_blanked(list(reversed(pairs)))[1] == list(reversed(blanked))
    for held_out in ("django==5.2.19", "Sphinx==9.0.4", "django_cms==5.1.3"):
        with pytest.raises(ValueError, match="held-out set"):
            benchmark.package_catalogs(held_out, "unused")
