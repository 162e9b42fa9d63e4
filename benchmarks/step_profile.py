"""Where a training step's time goes: the step's parts timed one by one.

    python benchmarks/step_profile.py CORPUS_DIR [--config FILE] [--batches 20]

On the same training batches (the corpus's, as `translate train` makes
them), each part of the model runs forward and backward alone, compiled
as one `tf.function` per part, with its inputs held fixed, and the whole
step runs as Keras trains it (`model.fit`: forward, loss, gradients,
clipping, Adam, metrics):

- embeddings and encoder (the source's embedding, the bidirectional GRUs,
  the mean and the bridge);
- decoder GRUs over the target under teacher forcing;
- attention and combine (`tanh(W [output, context])`, of the real target
  positions only, as the training step packs them);
- output projection and loss of those positions (the logits,
  label-smoothed cross-entropy; a model without copying and with its own
  projection, as the toolkit's);
- the optimizer alone (Adam on gradients of the model's shapes, clipped).

What the parts do not add up to is the rest: Keras's per-step work
(metrics, callbacks, the data iterator) and what the parts' separation
hides (fusion across them). Figures are milliseconds per batch; say the CPU
with them.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402

from translate import config, dataset, losses, training  # noqa: E402
from translate.machine import describe  # noqa: E402
from translate.model import build_model  # noqa: E402


def _timed(function, batches, repeats=2):
    """Median milliseconds of `function(batch)` over the batches, after one
    untimed pass (tracing and compiling for each shape)."""
    for batch in batches:
        function(*batch)
    times = []
    for _ in range(repeats):
        for batch in batches:
            start = time.perf_counter()
            result = function(*batch)
            tf.nest.map_structure(lambda t: t.numpy() if hasattr(t, "numpy") else t, result)
            times.append(1000 * (time.perf_counter() - start))
    return statistics.median(times)


def _forward_backward(function, variables):
    """`f(*inputs)`: `function`'s forward pass and its gradients with
    respect to `variables` and its float inputs, as one `tf.function`."""
    @tf.function(reduce_retracing=True)
    def run(*inputs):
        watched = [x for x in inputs if x.dtype.is_floating]
        with tf.GradientTape() as tape:
            tape.watch(watched)
            out = function(*inputs)
            total = tf.reduce_sum(tf.cast(out, tf.float32))
        return tape.gradient(total, [*variables, *watched])
    return run


def profile(corpus_dir, settings, count):
    """Milliseconds per batch of each part and of the whole step (a dict)."""
    train = settings["train"]
    (source_tok, target_tok), (source_vocab, target_vocab) = training.tokenizers(corpus_dir)
    with training.dtype_policy(train["precision"]):  # as `translate train` builds it
        model = build_model(settings["model"], source_vocab, target_vocab)
    loss = losses.MaskedCrossEntropy(train["label_smoothing"])
    data = dataset.make_dataset(
        str(Path(corpus_dir) / "train.tsv"), source_tok, target_tok, shuffle=False,
        **training.batch_settings(corpus_dir, train))
    batches = list(data.take(count))  # unshuffled: the same batches as `model.fit`'s below

    # Each part's inputs, computed once per batch by the parts before it.
    staged = []
    for inputs, target_out in batches:
        memory, mask, states = model.encode(inputs["source"])
        target_mask = tf.not_equal(inputs["target_in"], 0)
        x = model.target_embedding(inputs["target_in"])
        for layer, state in zip(model.decoder, states):
            x = layer(x, initial_state=state, mask=target_mask)
        context, _ = model.attention(x, memory, mask)
        # As the training step: combine and project the real positions only.
        hidden = model.combine(tf.gather_nd(tf.concat([x, context], -1), tf.where(target_mask)))
        staged.append((inputs, tf.boolean_mask(target_out, target_mask), memory, mask, states,
                       x, hidden, target_mask))

    def encoder(source):
        return model.encode(source, training=True)[0]

    def decoder(target_in, state):
        target_mask = tf.not_equal(target_in, 0)
        x = model.dropout(model.target_embedding(target_in), training=True)
        for layer in model.decoder:
            x = layer(x, initial_state=state, mask=target_mask, training=True)
        return x

    def attention(decoded, memory, mask, target_mask):
        context, _ = model.attention(decoded, memory, mask)
        return model.combine(tf.gather_nd(tf.concat([decoded, context], -1),
                                          tf.where(target_mask)))

    def output(hidden, target_out):
        logits = tf.cast(model.projection(model.dropout(hidden, training=True)), tf.float32)
        return loss(target_out, logits)

    parts = {
        "embeddings + encoder": (_forward_backward(encoder, model.trainable_variables),
                                 [(s[0]["source"],) for s in staged]),
        "decoder GRUs": (_forward_backward(decoder, model.trainable_variables),
                         [(s[0]["target_in"], s[4][0]) for s in staged]),
        "attention + combine": (_forward_backward(attention, model.trainable_variables),
                                [(s[5], s[2], s[3], s[7]) for s in staged]),
        "projection + loss": (_forward_backward(output, model.trainable_variables),
                              [(s[6], s[1]) for s in staged]),
    }
    figures = {name: _timed(function, inputs) for name, (function, inputs) in parts.items()}

    optimizer = training.make_optimizer(train)
    optimizer.build(model.trainable_variables)
    gradients = [tf.ones_like(v) * 1e-3 for v in model.trainable_variables]

    @tf.function
    def apply(*_):
        optimizer.apply_gradients(zip(gradients, model.trainable_variables))
        return tf.constant(0)
    figures["optimizer (Adam, clipping)"] = _timed(apply, [()] * len(batches))

    model.compile(optimizer=training.make_optimizer(train), loss=loss,
                  metrics=[losses.masked_accuracy, training.TokenCount()])  # as training does
    cached = data.take(count).cache()
    list(cached)  # fill the cache
    model.fit(cached, verbose=0)  # traces and compiles
    start = time.perf_counter()
    model.fit(cached, verbose=0)
    figures["whole step (model.fit)"] = 1000 * (time.perf_counter() - start) / len(batches)
    tokens = sum(int(tf.math.count_nonzero(t)) for _, t in batches)
    return figures, tokens / len(batches), model.count_params()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus_dir")
    parser.add_argument("--config", default=str(Path(__file__).parent / "configs"
                                                / "toolkit_exact.yaml"))
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--precision", choices=config.CHOICES[("train", "precision")],
                        help="replaces the config's train.precision")
    args = parser.parse_args(argv)
    settings = config.load(args.config)
    if args.precision:
        settings["train"]["precision"] = args.precision
    if settings["model"]["copy"] or settings["model"]["tie_output"]:
        parser.error("the parts are those of a model without copying and with its own "
                     "output projection (model.copy and model.tie_output false)")
    figures, tokens, parameters = profile(args.corpus_dir, settings, args.batches)
    whole = figures["whole step (model.fit)"]
    parts = sum(v for k, v in figures.items() if k != "whole step (model.fit)")
    print(f"{describe()}; {args.config} ({settings['train']['precision']}): "
          f"{parameters:,} parameters, "
          f"{tokens:,.0f} target tokens per batch, {args.batches} batches")
    print("| part (forward and backward) | ms per batch | share of the step |\n|---|---|---|")
    for name, value in figures.items():
        print(f"| {name} | {value:.1f} | {100 * value / whole:.0f}% |")
    print(f"| the rest (Keras per step, data, unfused) | {whole - parts:.1f} | "
          f"{100 * (whole - parts) / whole:.0f}% |")
    print(f"whole step: {tokens / whole * 1000:,.0f} target tokens/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
