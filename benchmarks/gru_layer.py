"""gru_keras.GRU against keras.layers.GRU, side by side in one process.

For each (batch, time, input_dim, units) both layers get the same weights and
inputs, are wrapped in the same `tf.function` (as Keras's `predict` and `fit`
run them), and are timed interleaved; the table reports medians, the speed
ratio (Keras time / ours) and GFLOP/s against a matmul roofline measured in the
same run: the time TensorFlow takes for the layer's own matmuls alone, one
`(batch*time, input_dim) x (input_dim, 3*units)` and `time` times
`(batch, units) x (units, 3*units)`.

    python benchmarks/gru_layer.py            # full table (minutes)
    python benchmarks/gru_layer.py --quick    # tiny shapes: correctness only

`--quick` checks that both layers agree and prints a table whose timings mean
nothing; it is what the test suite runs.
"""

import argparse
import functools
import json
import os
import platform
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import gru_keras  # noqa: E402

SHAPES = [(1, 20, 256, 256), (8, 50, 256, 256), (64, 50, 256, 512),
          (256, 30, 512, 1024)]
DROPOUT_SHAPE = (8, 50, 256, 256)
QUICK_SHAPES = [(2, 5, 8, 8), (4, 6, 8, 16)]


def build_pair(shape, dropout=0.0):
    """Both layers, built, with the same weights; and an input batch."""
    batch, steps, dim, units = shape
    kwargs = dict(return_sequences=True, dropout=dropout,
                  recurrent_dropout=dropout, seed=1)
    theirs = keras.layers.GRU(units, **kwargs)
    ours = gru_keras.GRU(units, **kwargs)
    x = tf.random.stateless_normal((batch, steps, dim), seed=(1, 2))
    theirs(x)
    ours(x)
    ours.set_weights(theirs.get_weights())
    return theirs, ours, x


def forward_fn(layer):
    return tf.function(lambda x: layer(x, training=False))


def train_fn(layer, training):
    @tf.function
    def step(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = tf.reduce_sum(tf.square(layer(x, training=training)))
        return tape.gradient(loss, [x] + layer.trainable_weights)
    return step


def roofline_fn(shape):
    """The layer's matmuls alone, with the same step-to-step dependency."""
    batch, steps, dim, units = shape
    x = tf.random.normal((batch * steps, dim))
    h0 = tf.random.normal((batch, units))
    kernel = tf.random.normal((dim, 3 * units)) * 0.01
    recurrent = tf.random.normal((units, 3 * units)) * 0.01

    @tf.function
    def matmuls():
        projected = tf.matmul(x, kernel)
        h = h0
        for _ in range(steps):  # unrolled: no loop overhead at all
            h = tf.matmul(h, recurrent)[:, :units]
        return projected[0, 0] + h[0, 0]
    return matmuls


def seconds(fn, *args):
    start = time.perf_counter()
    out = fn(*args)
    tf.nest.map_structure(np.asarray, out)  # fetch the results
    return time.perf_counter() - start


def medians(calls, repeats):
    """Median seconds of each zero-argument call, timed alternately after
    two warm-up calls each."""
    for call in calls:
        seconds(call)
        seconds(call)
    samples = [[] for _ in calls]
    for _ in range(repeats):
        for call, bucket in zip(calls, samples):
            bucket.append(seconds(call))
    return [statistics.median(bucket) for bucket in samples]


def forward_flops(shape):
    batch, steps, dim, units = shape
    return 2.0 * batch * steps * 3 * units * (dim + units)


def max_difference(a, b):
    """Largest difference between two results, relative to the largest
    magnitude in each tensor (float32 sums of many terms differ in the last
    digits with the order of summation)."""
    def one(u, v):
        u, v = np.asarray(u), np.asarray(v)
        return float(np.max(np.abs(u - v)) / max(1.0, float(np.max(np.abs(u)))))
    return max(one(u, v) for u, v in zip(tf.nest.flatten(a), tf.nest.flatten(b)))


def run(shapes, dropout_shape, repeats):
    rows = []
    cases = [(s, "forward", 0.0) for s in shapes]
    cases += [(s, "train", 0.0) for s in shapes]
    cases.append((dropout_shape, "train+dropout0.2", 0.2))
    for shape, kind, dropout in cases:
        theirs, ours, x = build_pair(shape, dropout)
        if kind == "forward":
            fns = [forward_fn(theirs), forward_fn(ours)]
            flops = forward_flops(shape)
            check = max_difference(fns[0](x), fns[1](x))
        else:
            fns = [train_fn(theirs, dropout > 0), train_fn(ours, dropout > 0)]
            flops = 3 * forward_flops(shape)
            check = (max_difference(fns[0](x), fns[1](x)) if not dropout
                     else float("nan"))
        roof = roofline_fn(shape)
        t_keras, t_ours, t_roof = interleaved(fns, roof, x, repeats)
        roof_gflops = forward_flops(shape) / t_roof / 1e9
        ours_gflops = flops / t_ours / 1e9
        rows.append(dict(
            shape=list(shape), kind=kind, keras_ms=1e3 * t_keras,
            ours_ms=1e3 * t_ours, speedup=t_keras / t_ours,
            ours_gflops=ours_gflops, roofline_gflops=roof_gflops,
            roofline_pct=100 * ours_gflops / roof_gflops,
            max_abs_diff=check))
        print(format_row(rows[-1]), flush=True)
    return rows


def interleaved(fns, roof, x, repeats):
    """Median seconds of Keras, ours and the roofline, timed alternately."""
    return medians([functools.partial(fns[0], x), functools.partial(fns[1], x),
                    roof], repeats)


HEADER = ("| (B, T, D, U) | pass | keras ms | gru_keras ms | speed-up | "
          "gru_keras GFLOP/s | matmul roofline GFLOP/s | % of roofline | "
          "max diff (rel.) |\n|---|---|---|---|---|---|---|---|---|")


def format_row(r):
    return (f"| {tuple(r['shape'])} | {r['kind']} | {r['keras_ms']:.2f} | "
            f"{r['ours_ms']:.2f} | {r['speedup']:.2f}x | "
            f"{r['ours_gflops']:.1f} | {r['roofline_gflops']:.1f} | "
            f"{r['roofline_pct']:.0f}% | {r['max_abs_diff']:.1e} |")


def machine():
    gpus = tf.config.list_physical_devices("GPU")
    return (f"{platform.processor() or platform.machine()}, "
            f"{os.cpu_count()} cores, TensorFlow {tf.__version__}, "
            f"Keras {keras.__version__}, "
            f"{'GPU: ' + str(len(gpus)) if gpus else 'CPU only'}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="tiny shapes, one repeat: correctness only")
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--json", help="also write the rows to this file")
    args = parser.parse_args(argv)
    shapes, dropout_shape, repeats = SHAPES, DROPOUT_SHAPE, args.repeats
    if args.quick:
        shapes, dropout_shape, repeats = QUICK_SHAPES, QUICK_SHAPES[0], 1
    print(f"machine: {machine()}")
    print(HEADER)
    rows = run(shapes, dropout_shape, repeats)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(dict(machine=machine(), rows=rows), f, indent=1)
    bad = [r for r in rows if r["max_abs_diff"] > 1e-4]
    if bad:
        print(f"MISMATCH between the layers: {bad}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
