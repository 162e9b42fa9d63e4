"""`make demo` for now: gru_keras.GRU next to keras.layers.GRU.

Builds both layers with the same weights, shows they give the same outputs
and gradients, and measures the speed ratio on one shape (8 sentences of 50
steps, 256 features, 256 units), forward, training step, and training with
dropout — the case where Keras's GRU leaves its fast kernel.
"""

import sys

import gru_layer

SHAPE = (8, 50, 256, 256)


def main():
    print(__doc__.strip().splitlines()[0])
    print(f"machine: {gru_layer.machine()}")
    print(gru_layer.HEADER)
    rows = gru_layer.run([SHAPE], SHAPE, repeats=9)
    worst = max(r["max_abs_diff"] for r in rows if r["max_abs_diff"] == r["max_abs_diff"])
    print(f"\nsame weights, largest output/gradient difference: {worst:.1e}")
    for r in rows:
        print(f"{r['kind']:>17}: gru_keras is {r['speedup']:.2f}x the speed of keras.layers.GRU")
    return 0 if worst < 1e-3 else 1


if __name__ == "__main__":
    sys.exit(main())
