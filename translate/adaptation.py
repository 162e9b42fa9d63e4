"""Adapting a trained run to a project's own catalogs (`translate adapt`).

A translator's catalog is mostly translated already, and its translated
entries are the best evidence of the project's terms and style. Adaptation
continues training a run of `translate train` on them by mixed fine-tuning
(Chu, Dabre & Kurohashi, "An Empirical Comparison of Domain Adaptation
Methods for Neural Machine Translation", ACL 2017): the in-domain pairs,
repeated, and a sample of the run's own training corpus make one training
set, so that every epoch holds both and the model keeps its general
quality while it learns the project's.

The adaptation is a training run of its own, `OUT`, which holds everything
`translate train` writes (checkpoints that resume exactly after kill -9,
`best.weights.h5`, `metrics.jsonl`, `config.json`, `run.json`), so `translate
export OUT`, `translate evaluate OUT` and the others take it as any run, and:

- `OUT/corpus/`: a corpus directory of `translate prepare`'s layout.
  `train.tsv` is the mix: the in-domain pairs `copies` times and a seeded
  sample of the base corpus's training pairs (those with a source of the
  in-domain pairs left out: the project's translation of a message is the
  one to learn), shuffled. `dev.tsv` and `test.tsv` are the base corpus's:
  the dev loss (the best weights, early stopping) watches general quality,
  and every in-domain pair goes to training, since a catalog is small and
  each entry may carry a term. The tokenizer files are the base corpus's
  (the model's vocabulary cannot change), and so is the manifest's
  tokenizer description; the manifest's `adaptation` holds the record
  below. It is written once, atomically; a resumed run reuses it, and
  different inputs (pairs, mix, base weights) are an error.
- `OUT/adapt.json`: that record: the base run and the sha256 of its
  weights, every input with its sha256 and pair counts, the mix asked for
  and the in-domain share it gave, and a fingerprint of all of it.

Training starts from the base run's best weights with a fresh optimizer and
the base config, but for the learning rate, a short warm-up and checkpoints
at least every `CHECKPOINT_EVERY_STEPS` steps; every layer is trained.
"""

import datetime
import hashlib
import json
import random
import shutil
from pathlib import Path

from translate import config as config_lib
from translate import corpus, rundir
from translate.atomic import atomic_directory, atomic_file
from translate.rundir import BEST_WEIGHTS

MIN_PAIRS = 20
"""Fewer in-domain pairs (after cleaning) than this are refused: a handful of
entries, repeated hundreds of times, would be learnt by heart and teach the
model nothing of the project."""

DEFAULT_MIX = 0.25
"""The in-domain share of the training pairs (see `mix_pairs`). Measured
(README, "Adapting to a project's catalogs"): at 400 steps 0.25 gains as
much on a project's held-back entries as 0.5, and keeps more general
quality (0.5 lost up to 1.8 chrF on the way)."""

DEFAULT_LEARNING_RATE = 1e-3
"""The peak learning rate (the base run's is not used): 3e-4 gained less on
the project's entries and lost general quality (README)."""

DEFAULT_STEPS = 400
"""`translate adapt`'s step budget when none is given: the gains still grew
from 200 to 400 steps, general quality with them (README)."""

DEFAULT_MINUTES = 10.0
"""`translate adapt`'s time budget when none is given, the cap of a slow
machine: 400 steps of the `small` model took 5.5 to 9.5 minutes on 2 shared
CPU cores."""

WARMUP_STEPS = 50
"""The fresh optimizer's warm-up: Adam's moment estimates start at zero, and
full-rate steps on them would jolt the trained weights."""

CHECKPOINT_EVERY_STEPS = 50
"""Checkpoints at least this often: an adaptation is a few hundred steps, so
the base's interval (200 for `small`) would lose much of one to a kill."""

GENERAL_SAMPLE = 50_000
"""The most pairs of the base corpus in the mix: the in-domain copies grow
with the sample to keep the share, and the pairs are held in memory."""

CORPUS = "corpus"
"""The adaptation's corpus directory, under its run directory."""

RECORD = "adapt.json"
"""What an adaptation was made from, in its run directory."""


def catalog_pairs(po=(), tsv=(), max_chars=500):
    """The in-domain pairs of catalogs and TSV files, cleaned as `translate prepare` cleans.

    Catalogs give their translated, non-fuzzy, non-obsolete entries (the
    header skipped): `msgid -> msgstr`, and for plural entries `msgid ->
    msgstr[0]` and, where there are just two forms, `msgid_plural ->
    msgstr[1]` (`translate.corpus.read_po`). Both sides are then
    whitespace-normalised, and empty, over-long, identical and duplicate
    pairs dropped (`translate.corpus.clean_pairs`), across all inputs.

    Args:
        po: `.po` (or `.mo`) catalogs.
        tsv: `source<TAB>target` files.
        max_chars: longer messages are dropped (the base corpus's setting).

    Returns:
        `(pairs, inputs)`: the kept `corpus.Pair`s (each `origin` the path
        of its input) and one dict per input: `po` or `tsv` (the path),
        `sha256`, `read` (its pairs) and `kept` (those kept).

    Raises:
        ValueError: no input named.
        corpus.CorpusError: a malformed catalog or TSV line (naming file and
            line).
        OSError: an input cannot be read.
    """
    named = [("po", path) for path in po] + [("tsv", path) for path in tsv]
    if not named:
        raise ValueError("nothing to adapt on: name catalogs (--po) or TSV files (--tsv).")
    read, inputs = [], []
    for kind, path in named:
        reader = (corpus.read_po_files([path], plurals=True) if kind == "po"
                  else corpus.read_tsv(path))
        pairs = [pair._replace(origin=str(path)) for pair in reader]
        read += pairs
        inputs.append({kind: str(path), "sha256": corpus.sha256_file(path),
                       "read": len(pairs)})
    kept = list(corpus.clean_pairs(read, max_chars=max_chars))
    for record in inputs:
        path = record.get("po", record.get("tsv"))
        record["kept"] = sum(pair.origin == path for pair in kept)
    return kept, inputs


def mix_pairs(in_domain, general, mix=DEFAULT_MIX, seed=0, general_sample=GENERAL_SAMPLE):
    """The training pairs of mixed fine-tuning: in-domain copies and a general sample.

    The general pairs whose source is an in-domain source are left out (the
    in-domain translation is the one to learn); of the rest, a seeded sample
    of at most `general_sample` pairs is taken. The in-domain pairs are
    repeated `copies` times, the whole number (at least 1) that brings their
    share of the lines closest to `mix`, and everything is shuffled with the
    seed.

    Args:
        in_domain: the in-domain `corpus.Pair`s (normalised, distinct).
        general: the base corpus's training `corpus.Pair`s.
        mix: the in-domain share of the lines asked for, in (0, 1).
        seed: the seed of the sample and of the shuffle.
        general_sample: the most general pairs taken.

    Returns:
        `(pairs, counts)`: the shuffled list, and a dict of `copies`,
        `in_domain_pairs`, `general_pairs` (in the sample), `general_excluded`
        (left out for their source) and `in_domain_share` (of the lines).

    Raises:
        ValueError: `mix` outside (0, 1), or no in-domain pair.
    """
    if not 0 < mix < 1:
        raise ValueError(f"mix (the in-domain share) must be between 0 and 1, got {mix!r}.")
    if not in_domain:
        raise ValueError("mix_pairs needs in-domain pairs.")
    sources = {pair.source for pair in in_domain}
    kept = [pair for pair in general if pair.source not in sources]
    rng = random.Random(seed)
    sample = rng.sample(kept, min(len(kept), general_sample))
    copies = max(1, round(mix * len(sample) / ((1 - mix) * len(in_domain))))
    pairs = list(in_domain) * copies + sample
    rng.shuffle(pairs)
    return pairs, {"copies": copies, "in_domain_pairs": len(in_domain),
                   "general_pairs": len(sample), "general_excluded": len(general) - len(kept),
                   "in_domain_share": copies * len(in_domain) / len(pairs)}


def base_corpus(base_run):
    """The corpus directory a run was trained on (its `run.json` names it).

    Raises:
        FileNotFoundError: `base_run` is not a training run with best weights.
    """
    base_run = Path(base_run)
    for name in (rundir.CONFIG, rundir.RUN_RECORD):
        if not (base_run / name).exists():
            raise FileNotFoundError(f"{base_run} is not a training run (no {name}).")
    if not (base_run / BEST_WEIGHTS).exists():
        raise FileNotFoundError(f"no {base_run / BEST_WEIGHTS}: the run has not finished "
                                "an epoch; there is nothing to adapt yet.")
    return rundir.corpus_dir(base_run)


def adaptation_config(base_run, learning_rate=DEFAULT_LEARNING_RATE):
    """The adaptation's config: the base run's, with adaptation's training rates.

    Args:
        base_run: a run of `translate train`.
        learning_rate: the peak learning rate.

    Returns:
        A full config: the base's model (so its weights fit) and decoding,
        its training settings but for `learning_rate`, `warmup_steps`
        (`WARMUP_STEPS`) and `checkpoint_every_steps` (at most
        `CHECKPOINT_EVERY_STEPS`).

    Raises:
        FileNotFoundError: not a run.
        ConfigError: a bad config file in the run, or a learning rate that
            is not a positive number.
    """
    if not rundir.is_run(base_run):
        raise FileNotFoundError(f"{base_run} is not a training run (no {rundir.CONFIG}).")
    if isinstance(learning_rate, bool) or not learning_rate > 0:
        raise config_lib.ConfigError(
            f"the learning rate must be a positive number, got {learning_rate!r}.")
    settings = rundir.read_config(base_run)
    train = settings["train"]
    train.update(learning_rate=float(learning_rate), warmup_steps=WARMUP_STEPS,
                 checkpoint_every_steps=min(train["checkpoint_every_steps"],
                                            CHECKPOINT_EVERY_STEPS))
    return settings


def _general_corpus(corpus_dir):
    """The corpus whose training pairs are the general ones: an adapted run's
    own base corpus (its train.tsv holds the earlier in-domain copies)."""
    manifest = json.loads((Path(corpus_dir) / "manifest.json").read_text())
    return Path(manifest.get("adaptation", {}).get("general_corpus", corpus_dir))


def _describe(inputs):
    """'a.po has 7 translated entries, b.tsv has 1 pair' (kept after cleaning)."""
    parts = []
    for record in inputs:
        n = record["kept"]
        what = (("translated entry" if n == 1 else "translated entries") if "po" in record
                else ("pair" if n == 1 else "pairs"))
        cleaned = "" if n == record["read"] else f" ({record['read']} before cleaning)"
        parts.append(f"{record.get('po', record.get('tsv'))} has {n} {what}{cleaned}")
    return ", ".join(parts)


def _fingerprint(record):
    """The sha256 of what decides the adaptation's corpus and start."""
    keys = ("base_weights_sha256", "general_train_sha256", "pairs_sha256", "mix", "seed")
    text = json.dumps({key: record[key] for key in keys}, sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _pairs_sha256(pairs):
    digest = hashlib.sha256()
    for pair in pairs:
        digest.update(f"{pair.source}\t{pair.target}\n".encode("utf-8"))
    return digest.hexdigest()


def prepare_adaptation(base_run, pairs, inputs, out, mix=DEFAULT_MIX, seed=0):
    """Writes the adaptation's corpus `OUT/corpus/` and `OUT/adapt.json`, once.

    See the module doc for what they hold. A second call with the same
    inputs (a resumption) reuses them; the corpus appears complete or not at
    all (`translate.atomic`).

    Args:
        base_run: the run to adapt (not modified).
        pairs: the in-domain pairs (`catalog_pairs`).
        inputs: their inputs' records (`catalog_pairs`), for the record and
            the error messages.
        out: the adaptation's run directory.
        mix: the in-domain share of the training pairs (`mix_pairs`).
        seed: the seed of the general sample and the shuffle.

    Returns:
        The record, as in `OUT/adapt.json`.

    Raises:
        FileNotFoundError: `base_run` is not a run with best weights.
        corpus.CorpusError: fewer than `MIN_PAIRS` pairs (naming every input
            and its count).
        ValueError: `out` is `base_run`, a bad `mix`, or `out` holds an
            adaptation made from other inputs.
    """
    base_run, out = Path(base_run), Path(out)
    corpus_dir = base_corpus(base_run)
    if out.resolve() == base_run.resolve():
        raise ValueError(f"the adaptation needs a run directory of its own, not the base "
                         f"run {base_run}, which it reads.")
    if len(pairs) < MIN_PAIRS:
        raise corpus.CorpusError(
            f"too few pairs to adapt on: {_describe(inputs)}; adaptation needs at least "
            f"{MIN_PAIRS}.")
    if not 0 < mix < 1:
        raise ValueError(f"mix (the in-domain share) must be between 0 and 1, got {mix!r}.")
    general_dir = _general_corpus(corpus_dir)
    general_train = general_dir / "train.tsv"
    record = {
        "base_run": str(base_run.resolve()),
        "base_weights_sha256": corpus.sha256_file(base_run / BEST_WEIGHTS),
        "general_corpus": str(general_dir.resolve()),
        "general_train_sha256": corpus.sha256_file(general_train),
        "inputs": inputs, "pairs_sha256": _pairs_sha256(pairs), "mix": mix, "seed": seed,
    }
    record["fingerprint"] = _fingerprint(record)
    target = out / CORPUS
    if rundir.is_run(out) and not target.exists():
        raise ValueError(f"{out} is a training run but not an adaptation (no {CORPUS}/); "
                         "use a new --run-dir.")
    if target.exists():
        made = json.loads((target / "manifest.json").read_text())["adaptation"]
        if made["fingerprint"] != record["fingerprint"]:
            raise ValueError(
                f"{out} is an adaptation made from other inputs (catalogs, mix or base "
                f"weights: {out / RECORD} says which); repeat its command to resume it, or "
                "use a new --run-dir.")
        record = made
    else:
        general = list(corpus.read_tsv(general_train))
        mixed, counts = mix_pairs(pairs, general, mix, seed)
        record.update(counts, created=datetime.datetime.now(datetime.timezone.utc).isoformat())
        _write_corpus(target, corpus_dir, mixed, record)
    with atomic_file(out / RECORD, encoding="utf-8") as f:
        json.dump(record, f, indent=2, ensure_ascii=False)
    return record


def _write_corpus(target, corpus_dir, train_pairs, record):
    """Writes the adaptation's corpus directory: the base corpus's files but
    for `train.tsv` (the mix) and the manifest (which records the mix)."""
    base_manifest = json.loads((corpus_dir / "manifest.json").read_text())
    with atomic_directory(target) as staging:
        for path in sorted(corpus_dir.iterdir()):
            if path.is_file() and path.name not in ("train.tsv", "manifest.json"):
                shutil.copy2(path, staging / path.name)
        corpus.write_tsv(staging / "train.tsv", train_pairs)
        counts = base_manifest["counts"]
        manifest = {
            **base_manifest,
            "created": record["created"],
            "counts": {**counts, "splits": {**counts["splits"], "train": len(train_pairs)}},
            "adaptation": record,
            "sha256": {f.name: corpus.sha256_file(f)
                       for f in sorted(staging.iterdir()) if f.is_file()},
        }
        with open(staging / "manifest.json", "w", encoding="utf-8") as f:
            json.dump(manifest, f, indent=2, ensure_ascii=False)


def adapt(base_run, out, config, po=(), tsv=(), mix=DEFAULT_MIX,
          time_budget_minutes=None, max_steps=None, verbose=1, dev_scorer=None,
          callbacks=()):
    """Adapts (or resumes adapting) a run to catalogs and TSV pairs.

    Args:
        base_run: a run of `translate train` (read, never written).
        out: the adaptation's run directory (see the module doc).
        config: the adaptation's config (`adaptation_config`).
        po, tsv: the inputs (`catalog_pairs`).
        mix: the in-domain share of the training pairs.
        time_budget_minutes, max_steps, verbose, callbacks: as for
            `translate.training.train`.
        dev_scorer: optional `f(corpus_dir, config) -> on_epoch_end` (as
            `translate.training.train` takes it), called once the inputs are
            read and the corpus written, so that bad inputs fail before
            anything slow starts.

    Returns:
        `(record, result)`: the adaptation's record (`prepare_adaptation`)
        and `translate.training.train`'s result.

    Raises:
        As `catalog_pairs`, `prepare_adaptation` and `translate.training.train`.
    """
    base_run, out = Path(base_run), Path(out)
    manifest = json.loads((base_corpus(base_run) / "manifest.json").read_text())
    pairs, inputs = catalog_pairs(po, tsv, max_chars=manifest["settings"]["max_chars"])
    record = prepare_adaptation(base_run, pairs, inputs, out, mix=mix,
                                seed=config["train"]["seed"])
    from translate import training  # TensorFlow: once the inputs are known to be good
    result = training.train(
        out / CORPUS, out, config, time_budget_minutes=time_budget_minutes,
        max_steps=max_steps, verbose=verbose, callbacks=callbacks,
        on_epoch_end=None if dev_scorer is None else dev_scorer(out / CORPUS, config),
        initial_weights=base_run / BEST_WEIGHTS)
    return record, result
