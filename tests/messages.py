"""Synthetic software messages with placeholders, and German-like
translations: test data made on the spot, nothing downloaded."""

import json
import random
from pathlib import Path

TEMPLATES = [
    ("Could not open file %s", "Datei %s konnte nicht geöffnet werden"),
    ("Deleted {count} items", "{count} Elemente gelöscht"),
    ("%1$s of %2$d", "%1$s von %2$d"),
    ("%(name)s is ready", "%(name)s ist bereit"),
    ("Copied %d of %d files (%.1f%%)", "%d von %d Dateien kopiert (%.1f%%)"),
    ("Saving {0} to {1}", "{0} wird in {1} gespeichert"),
    ("Width: {0:>5}", "Breite: {0:>5}"),
    ("Unknown option {}", "Unbekannte Option {}"),
    ("%{user} logged in", "%{user} hat sich angemeldet"),
    ("Using ${prefix} and $HOME", "${prefix} und $HOME werden verwendet"),
    ("See @GPG@ for details", "Siehe @GPG@ für Einzelheiten"),
    ("Read %lu bytes from %s", "%lu Byte aus %s gelesen"),
    ("%-10s %5.2f", "%-10s %5.2f"),
    ("Line %u: %m", "Zeile %u: %m"),
]
NOUNS = [("file", "Datei"), ("folder", "Ordner"), ("user", "Benutzer"), ("key", "Schlüssel"),
         ("printer", "Drucker"), ("message", "Nachricht"), ("window", "Fenster"),
         ("network", "Netzwerk"), ("package", "Paket"), ("account", "Konto")]


def synthetic_pairs(count, seed=0):
    """Software messages with placeholders and German-like translations."""
    rng = random.Random(seed)
    pairs = []
    for _ in range(count):
        source, target = rng.choice(TEMPLATES)
        noun, nomen = rng.choice(NOUNS)
        pairs.append((f"{source} for the {noun}", f"{target} für {nomen}"))
    return pairs


def write_tsv(path, pairs):
    """Writes `(source, target)` pairs as a TSV file; returns the path."""
    path.write_text("".join(f"{s}\t{t}\n" for s, t in pairs), encoding="utf-8")
    return path


def tiny_corpus(root, count=800):
    """A corpus directory (`translate prepare` output) of synthetic messages.

    Args:
        root: a fresh directory; the corpus goes to `root / "corpus"`.
        count: how many message pairs to generate.

    Returns:
        The corpus directory.
    """
    from translate.prepare import prepare_corpus

    tsv = write_tsv(root / "pairs.tsv", synthetic_pairs(count))
    prepare_corpus(root / "corpus", tsv=[tsv], vocab_size=600,
                   dev_fraction=0.05, test_fraction=0.05)
    return root / "corpus"


def tiny_run(corpus_dir, run_dir, epochs, **model):
    """Trains the `tiny` preset (with `model` settings changed) on
    `corpus_dir` for `epochs`; returns its config."""
    from translate import config, training

    settings = config.preset("tiny")
    settings["train"]["epochs"] = epochs
    settings["model"].update(model)
    training.train(corpus_dir, run_dir, settings, verbose=0)
    return settings


PLAIN_MESSAGES = ["Save", "Print on the printer", "Open the file", "Delete this page",
                  "Cancel", "Quit the program"]
"""Messages without spans that the tests fill through the tiny export."""


def vary_weights(run_dir, sentences=48, distinct=0.75, high_bytes_shift=2.0):
    """Seeded random weights for a run's best model, sharper than an
    initialisation: a tiny model after a few steps says one token again and
    again (or nothing); these give long and varied outputs, byte pieces
    included, so that comparing two ways of decoding means something.

    Whether a draw varies depends on the vocabulary, so seeds are tried in
    turn until the first `sentences` sources of the run's corpus (test, dev,
    then train) get at least `distinct` of them different translations, one
    of them at least a broken character (byte pieces cut short: U+FFFD), and
    each of `PLAIN_MESSAGES` a hypothesis that `translate po` can use (no
    sentinel or placeholder of its own, no broken character: random weights
    write them too). The byte pieces of 0x80-0xFF, half the tiny
    vocabulary, have their logits lowered by `high_bytes_shift`: drawn
    alone, nearly every hypothesis held a broken character."""
    import numpy as np

    from translate import training
    from translate.corpus import read_tsv
    from translate.inference import Translator
    from translate.localize.suggestions import REPLACEMENT, problem

    translator = Translator.from_run(run_dir)
    model = translator.model
    corpus = Path(json.loads((Path(run_dir) / "run.json").read_text())["corpus_dir"])
    sources = [pair.source for split in ("test", "dev", "train")
               for pair in read_tsv(corpus / f"{split}.tsv")][:sentences]
    pieces = translator.target
    high_bytes = [i for i in range(pieces.get_piece_size())
                  if pieces.is_byte(i) and int(pieces.id_to_piece(i)[1:-1], 16) >= 0x80]
    for seed in range(200):  # (the tiny run without the greedy row: seed 85)
        generator = np.random.default_rng(seed)
        for weight in model.trainable_weights:
            weight.assign(generator.normal(0, 3 / np.sqrt(weight.shape[0]), weight.shape)
                          .astype("float32"))
        if model.projection is not None:
            bias = model.projection.bias.numpy()
            bias[high_bytes] -= high_bytes_shift
            model.projection.bias.assign(bias)
        hypotheses, _, oks = translator.n_best_batch(PLAIN_MESSAGES)
        usable = all(any(problem(source, text, "utf-8", ok) is None
                         for text, ok in zip(texts, flags))
                     for source, texts, flags in zip(PLAIN_MESSAGES, hypotheses, oks))
        if not usable:
            continue
        translations = translator.translate(sources)
        if (len(set(translations)) >= distinct * len(sources)
                and any(REPLACEMENT in t for t in translations)):
            break
    else:
        raise AssertionError("no seed gave the tiny model varied and usable outputs")
    model.save_weights(run_dir / training.BEST_WEIGHTS)
