"""Translation model speed: training tokens/s and decoding sentences/s.

    python benchmarks/translation.py CORPUS_DIR --run-dir RUN_DIR [--preset small | --config FILE]

Training: `--train-steps` steps of the preset's model on the corpus's
training batches (after a warm-up), target tokens per second. Decoding: the
run's best checkpoint translating test sentences at batch 1 and 64, greedy
and beam 4, sentences per second, the same sentences at both sizes, and the
ratio (the model must be trained: an untrained one runs every sentence to its
length limit). `--inference-precision float32 bfloat16` decodes with each
precision of the output projection in turn, side by side; `--greedy-row`
adds beam 4 with each sentence's greedy hypothesis as a row of its search
(`decode.greedy_row`) beside the run's own setting.
"""

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402

from translate import config, dataset, evaluation, losses, machine, training  # noqa: E402
from translate.inference import Translator  # noqa: E402
from translate.model import build_model  # noqa: E402


def training_rate(corpus_dir, settings, steps, with_parameters=False):
    """Target tokens/s of training steps with the given settings.

    The same `steps` batches run twice: the first pass traces the step and
    XLA-compiles the GRU loops for each new batch shape (as the first epoch
    of a run does), the second pass is the steady state.

    Returns:
        `(first_pass, steady_state)` target tokens per second, and with
        `with_parameters` the model's parameter count third.
    """
    train = settings["train"]
    (source, target), (source_vocab, target_vocab) = training.tokenizers(corpus_dir)
    # As `translate train` builds it: the precision policy only while building
    # (a later decoding model is float32), its optimizer and loss.
    with training.dtype_policy(train["precision"]):
        model = build_model(settings["model"], source_vocab, target_vocab)
        model.compile(optimizer=training.make_optimizer(train),
                      loss=losses.MaskedCrossEntropy(train["label_smoothing"]))
    print(f"model: {model.count_params():,} parameters")
    data = dataset.make_dataset(str(Path(corpus_dir) / "train.tsv"), source, target,
                                **training.batch_settings(corpus_dir, train)
                                ).take(steps).cache()
    tokens = sum(int(tf.math.count_nonzero(t)) for _, t in data)
    rates = []
    for _ in range(2):
        start = time.perf_counter()
        model.fit(data, verbose=0)
        rates.append(tokens / (time.perf_counter() - start))
    return (*rates, model.count_params()) if with_parameters else tuple(rates)


def decoding_rate(translator, sentences, batch_size):
    """Sentences/s translating `sentences` in batches (after a warm-up)."""
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
    parser.add_argument("--inference-precision", nargs="+", default=["float32"],
                        choices=config.INFERENCE_PRECISIONS, metavar="PRECISION",
                        help="of the output projection, one decoding table row each "
                             f"({', '.join(config.INFERENCE_PRECISIONS)}; default: float32)")
    parser.add_argument("--greedy-row", action="store_true",
                        help="also beam 4 with the greedy row (decode.greedy_row), a table row")
    args = parser.parse_args(argv)
    settings = config.load(args.config) if args.config else config.preset(args.preset)
    print(f"machine: {machine.describe()}, TensorFlow {tf.__version__}")
    first, steady = training_rate(args.corpus_dir, settings, args.train_steps)
    print(f"training, {args.config or 'preset ' + args.preset}, {args.train_steps} batches: "
          f"{steady:,.0f} target tokens/s (first pass, compiling: {first:,.0f})")
    if not args.run_dir:
        return 0
    sources, _ = evaluation.read_tsv_pairs(Path(args.corpus_dir) / "test.tsv")
    sources = sources[: args.sentences]
    # The same sentences at both batch sizes: the ratio is batching's gain.
    print("| decoding | projection | batch 1 sentences/s | batch 64 sentences/s "
          "| batch 64 / batch 1 |\n|---|---|---|---|---|")
    searches = [(1, "greedy", {}), (4, "beam 4", {})]
    if args.greedy_row:
        searches.append((4, "beam 4, greedy row", {"greedy_row": True}))
    for beam, name, overrides in searches:
        for precision in args.inference_precision:
            translator = Translator.from_run(args.run_dir, beam_width=beam, precision=precision,
                                             **overrides)
            one = decoding_rate(translator, sources, 1)
            many = decoding_rate(translator, sources, 64)
            print(f"| {name} | {precision} | {one:.1f} | {many:.1f} | {many / one:.2f}x |",
                  flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
