"""Input pipeline throughput next to training throughput, in one run.

    python benchmarks/data_pipeline.py CORPUS_DIR [--batches 200]

CORPUS_DIR comes from `translate prepare` (e.g. `--gettext de`). The pipeline
(`translate.dataset.make_dataset`: TSV -> in-graph SentencePiece -> buckets)
is drained alone for examples/s and target tokens/s; then a stand-in
sequence-to-sequence training step built from `gru_keras.GRU` (embedding 256,
encoder and decoder GRUs of 256 units, softmax over the vocabulary) consumes
the same batches, for its target tokens/s. The pipeline must be the faster of
the two by a wide margin: the printed ratio says by how much.
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

import gru_keras  # noqa: E402
from translate import dataset, tokenizer  # noqa: E402


def pipeline(corpus_dir, batch_tokens, seed=0):
    manifest = json.loads((Path(corpus_dir) / "manifest.json").read_text())
    models = manifest["tokenizer"]
    source = tokenizer.tf_tokenizer(Path(corpus_dir) / models["source"])
    target = tokenizer.tf_tokenizer(Path(corpus_dir) / models["target"])
    vocab = tokenizer.vocab_size(Path(corpus_dir) / models["target"])
    ds = dataset.make_dataset(str(Path(corpus_dir) / "train.tsv"), source, target,
                              batch_tokens=batch_tokens, seed=seed, repeat=True,
                              mask_spans=tokenizer.masks_spans(Path(corpus_dir) / models["source"]))
    return ds, vocab


def drain(ds, batches):
    """Examples/s and target tokens/s of the pipeline alone."""
    it = iter(ds)
    next(it)  # start-up (file open, first shuffle fill) is not throughput
    examples = tokens = 0
    start = time.perf_counter()
    for _ in range(batches):
        inputs, target_out = next(it)
        examples += int(target_out.shape[0])
        tokens += int(tf.math.count_nonzero(target_out))
    seconds = time.perf_counter() - start
    return examples / seconds, tokens / seconds


def stand_in_model(vocab, width=256):
    source = keras.Input((None,), dtype="int32", name="source")
    target_in = keras.Input((None,), dtype="int32", name="target_in")
    embed = keras.layers.Embedding(vocab, width, mask_zero=True)
    _, state = gru_keras.GRU(width, return_state=True)(embed(source))
    decoded = gru_keras.GRU(width, return_sequences=True)(
        embed(target_in), initial_state=state)
    logits = keras.layers.Dense(vocab)(decoded)
    model = keras.Model({"source": source, "target_in": target_in}, logits)
    model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(
        from_logits=True, ignore_class=tokenizer.SPECIAL_IDS["pad"]))
    return model


def train_rate(ds, vocab, batches):
    """Target tokens/s of the stand-in model's training steps."""
    model = stand_in_model(vocab)
    model.fit(ds, steps_per_epoch=min(10, batches), verbose=0)  # compile, warm up
    # Each fit starts a new pass over the (seeded) dataset: these batches.
    tokens = sum(int(tf.math.count_nonzero(t)) for _, t in ds.take(batches))
    start = time.perf_counter()
    model.fit(ds, steps_per_epoch=batches, verbose=0)
    return tokens / (time.perf_counter() - start)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus_dir")
    parser.add_argument("--batches", type=int, default=200)
    parser.add_argument("--train-batches", type=int, default=30)
    parser.add_argument("--batch-tokens", type=int, default=4096)
    args = parser.parse_args(argv)
    ds, vocab = pipeline(args.corpus_dir, args.batch_tokens)
    examples_s, tokens_s = drain(ds, args.batches)
    train_tokens_s = train_rate(ds, vocab, args.train_batches)
    print(f"machine: {os.cpu_count()} cores, TensorFlow {tf.__version__}")
    print("| what | examples/s | target tokens/s |\n|---|---|---|")
    print(f"| input pipeline alone | {examples_s:,.0f} | {tokens_s:,.0f} |")
    print(f"| stand-in GRU seq2seq training step | | {train_tokens_s:,.0f} |")
    print(f"pipeline / training = {tokens_s / train_tokens_s:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
