"""Translation model speed: training tokens/s and decoding sentences/s.

    python benchmarks/translation.py CORPUS_DIR --run-dir RUN_DIR [--preset small]

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

import tensorflow as tf  # noqa: E402

from translate import config, dataset, evaluation, training  # noqa: E402
from translate.inference import Translator  # noqa: E402
from translate.model import build_model  # noqa: E402


def training_rate(corpus_dir, settings, steps):
    """Target tokens/s of training steps with the preset's settings."""
    train = settings["train"]
    (source, target), (source_vocab, target_vocab) = training.tokenizers(corpus_dir)
    model = build_model(settings["model"], source_vocab, target_vocab)
    model.compile(optimizer=tf.keras.optimizers.Adam(1e-3, clipnorm=train["clip_norm"]),
                  loss=training.MaskedCrossEntropy(train["label_smoothing"]))
    data = dataset.make_dataset(str(Path(corpus_dir) / "train.tsv"), source, target,
                                batch_tokens=train["batch_tokens"],
                                max_length=train["max_length"], repeat=True)
    model.fit(data, steps_per_epoch=5, verbose=0)  # trace and warm up
    tokens = sum(int(tf.math.count_nonzero(t)) for _, t in data.take(steps))
    start = time.perf_counter()
    model.fit(data, steps_per_epoch=steps, verbose=0)
    return tokens / (time.perf_counter() - start)


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
    parser.add_argument("--run-dir", required=True)
    parser.add_argument("--preset", default="small")
    parser.add_argument("--train-steps", type=int, default=20)
    parser.add_argument("--sentences", type=int, default=256)
    args = parser.parse_args(argv)
    settings = config.preset(args.preset)
    print(f"machine: {os.cpu_count()} cores, TensorFlow {tf.__version__}")
    rate = training_rate(args.corpus_dir, settings, args.train_steps)
    print(f"training, preset {args.preset}: {rate:,.0f} target tokens/s")
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
