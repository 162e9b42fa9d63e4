"""Translation model speed: training tokens/s and decoding sentences/s.

    python benchmarks/translation.py CORPUS_DIR --run-dir RUN_DIR [--preset small | --config FILE]

Training: `--train-steps` steps of the preset's model on the corpus's
training batches (after a warm-up), target tokens per second. Decoding: the
run's best checkpoint translating test sentences at batch 1 and 64, greedy
and beam 4, sentences per second (the model must be trained: an untrained one
runs every sentence to its length limit).
"""

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from translate import config, dataset, evaluation, losses, training  # noqa: E402
from translate.inference import Translator  # noqa: E402
from translate.model import build_model  # noqa: E402


def training_rate(corpus_dir, settings, steps):
    """Target tokens/s of training steps with the given settings.

    The same `steps` batches run twice: the first pass traces the step and
    XLA-compiles the GRU loops for each new batch shape (as the first epoch
    of a run does), the second pass is the steady state.

    Returns:
        `(first_pass, steady_state)` target tokens per second.
    """
    train = settings["train"]
    keras.mixed_precision.set_global_policy(train["precision"])
    (source, target), (source_vocab, target_vocab) = training.tokenizers(corpus_dir)
    model = build_model(settings["model"], source_vocab, target_vocab)
    print(f"model: {model.count_params():,} parameters")
    model.compile(optimizer=tf.keras.optimizers.Adam(1e-3, clipnorm=train["clip_norm"]),
                  loss=losses.MaskedCrossEntropy(train["label_smoothing"]))
    data = dataset.make_dataset(str(Path(corpus_dir) / "train.tsv"), source, target,
                                batch_tokens=train["batch_tokens"],
                                max_length=train["max_length"]).take(steps).cache()
    tokens = sum(int(tf.math.count_nonzero(t)) for _, t in data)
    rates = []
    for _ in range(2):
        start = time.perf_counter()
        model.fit(data, verbose=0)
        rates.append(tokens / (time.perf_counter() - start))
    return tuple(rates)


def decoding_rate(run_dir, sentences, batch_size, beam):
    """Sentences/s translating `sentences` in batches (after a warm-up)."""
    translator = Translator.from_run(run_dir, beam_width=beam)
    translator.translate(sentences[:batch_size], batch_size)
    start = time.perf_counter()
    translator.translate(sentences, batch_size)
    return len(sentences) / (time.perf_counter() - start)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus_dir")
    parser.add_argument("--run-dir", help="a trained run, for the decoding figures")
    settings_from = parser.add_mutually_exclusive_group()
    settings_from.add_argument("--preset", default="small")
    settings_from.add_argument("--config", metavar="FILE", help="a YAML or JSON config")
    parser.add_argument("--train-steps", type=int, default=40)
    parser.add_argument("--sentences", type=int, default=256)
    args = parser.parse_args(argv)
    settings = config.load(args.config) if args.config else config.preset(args.preset)
    print(f"machine: {os.cpu_count()} cores, TensorFlow {tf.__version__}")
    first, steady = training_rate(args.corpus_dir, settings, args.train_steps)
    print(f"training, {args.config or 'preset ' + args.preset}, {args.train_steps} batches: "
          f"{steady:,.0f} target tokens/s (first pass, compiling: {first:,.0f})")
    if not args.run_dir:
        return 0
    sources, _ = evaluation.read_tsv_pairs(Path(args.corpus_dir) / "test.tsv")
    sources = sources[: args.sentences]
    print("| decoding | batch 1 sentences/s | batch 64 sentences/s |\n|---|---|---|")
    for beam, name in ((1, "greedy"), (4, "beam 4")):
        one = decoding_rate(args.run_dir, sources[: max(8, args.sentences // 8)], 1, beam)
        many = decoding_rate(args.run_dir, sources, 64, beam)
        print(f"| {name} | {one:.1f} | {many:.1f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
