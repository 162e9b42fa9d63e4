"""gru_keras at another commit against this checkout's, side by side in one
process: did a change keep the layer's speed?

Both versions are imported into the same process (the other commit's
`gru_keras/` is extracted with `git archive` into a temporary directory and
imported under the same name, after this checkout's), get the same weights
and inputs, are wrapped in the same `tf.function`s as in
`benchmarks/gru_layer.py` and are timed interleaved, with Keras's GRU as a
third column; medians. On a shared machine, only the ratios of one run mean
anything.

    python benchmarks/gru_versions.py --base ec15760
"""

import argparse
import functools
import importlib
import os
import subprocess
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from gru_layer import (QUICK_SHAPES, SHAPES, forward_fn, machine,  # noqa: E402
                       max_difference, medians, train_fn)

ROOT = Path(__file__).resolve().parents[1]


def import_gru_keras(path):
    """`gru_keras` imported from `path`, as a module of its own (modules of
    an earlier import keep working: their functions hold their globals)."""
    for name in [m for m in sys.modules if m.split(".")[0] == "gru_keras"]:
        del sys.modules[name]
    sys.path.insert(0, str(path))
    try:
        module = importlib.import_module("gru_keras")
    finally:
        sys.path.remove(str(path))
    assert Path(module.__file__).is_relative_to(path), module.__file__
    return module


def layers(shape, classes):
    batch, steps, dim, units = shape
    built = [cls(units, return_sequences=True) for cls in classes]
    x = tf.random.stateless_normal((batch, steps, dim), seed=(1, 2))
    for layer in built:
        layer(x)
        layer.set_weights(built[0].get_weights())
    return built, x


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, help="a git commit")
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--quick", action="store_true",
                        help="tiny shapes, one repeat: correctness only")
    parser.add_argument("--shape", action="append", metavar="B,T,D,U",
                        help="time only this shape (repeatable)")
    parser.add_argument("--pass", dest="passes", action="append",
                        choices=["forward", "train"],
                        help="time only this pass (repeatable)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        archive = subprocess.run(["git", "archive", args.base, "gru_keras"],
                                 cwd=ROOT, check=True, capture_output=True)
        subprocess.run(["tar", "-x", "-C", tmp], input=archive.stdout,
                       check=True)
        head = import_gru_keras(ROOT)
        base = import_gru_keras(Path(tmp))
        print(f"machine: {machine()}; base {args.base}, head = this checkout")
        print("| (B, T, D, U) | pass | keras ms | base ms | head ms | "
              "head / base time | max diff head-base |")
        print("|---|---|---|---|---|---|---|")
        shapes = QUICK_SHAPES if args.quick else SHAPES
        if args.shape:
            shapes = [tuple(int(n) for n in s.split(",")) for s in args.shape]
        repeats = 1 if args.quick else args.repeats
        for kind in args.passes or ("forward", "train"):
            for shape in shapes:
                built, x = layers(shape, [keras.layers.GRU, base.GRU, head.GRU])
                fns = [forward_fn(layer) if kind == "forward"
                       else train_fn(layer, False) for layer in built]
                diff = max_difference(fns[1](x), fns[2](x))
                t = medians([functools.partial(fn, x) for fn in fns], repeats)
                print(f"| {shape} | {kind} | {1e3 * t[0]:.2f} | "
                      f"{1e3 * t[1]:.2f} | {1e3 * t[2]:.2f} | "
                      f"{t[2] / t[1]:.2f} | {diff:.1e} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
