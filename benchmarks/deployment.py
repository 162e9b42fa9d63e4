"""A model using gru_keras.GRU, converted: LiteRT and ONNX, accuracy and speed.

Two tables, both against `keras.layers.GRU` holding the same weights:

1. The model `keras.Input((None, 16), batch_size=1) -> Bidirectional(GRU(32,
   return_sequences=True)) -> GRU(32) -> Dense(4)` through each converter
   entry point: the largest difference from Keras's output in TensorFlow,
   the file size and the graph's loop op; LiteRT also with dynamic-range
   quantization (int8 weights).
2. Forward speed on `benchmarks/gru_layer.py`'s shapes (one
   `GRU(U, return_sequences=True)`): Keras's GRU and ours in TensorFlow (as
   `predict` runs them, in a `tf.function`), our portable graph in
   TensorFlow (what converters get), onnxruntime running the ONNX `GRU` op
   tf2onnx emits, and the LiteRT interpreter. Timed interleaved, medians;
   the ratios are against gru_keras in TensorFlow.

    python benchmarks/deployment.py            # both tables (minutes)
    python benchmarks/deployment.py --quick    # tiny shapes, no Keras column:
                                               # correctness only
"""

import argparse
import contextlib
import functools
import io
import logging
import os
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import onnx  # noqa: E402
import onnxruntime  # noqa: E402
import tensorflow as tf  # noqa: E402
import tf2onnx  # noqa: E402
from ai_edge_litert.interpreter import Interpreter  # noqa: E402

import gru_keras  # noqa: E402
from gru_layer import QUICK_SHAPES, SHAPES, machine, medians  # noqa: E402

logging.getLogger("tf2onnx").setLevel(logging.ERROR)


def issue_model(cls, weights=None):
    keras.utils.set_random_seed(3)
    inputs = keras.Input((None, 16), batch_size=1)
    x = keras.layers.Bidirectional(cls(32, return_sequences=True))(inputs)
    x = cls(32)(x)
    model = keras.Model(inputs, keras.layers.Dense(4)(x))
    if weights is not None:
        model.set_weights(weights)
    return model


def litert_session(blob, x):
    """A callable running the LiteRT model on inputs shaped like `x`."""
    interpreter = Interpreter(model_content=blob)
    (detail,) = interpreter.get_input_details()
    interpreter.resize_tensor_input(detail["index"], x.shape)
    interpreter.allocate_tensors()
    output = interpreter.get_output_details()[0]["index"]

    def run(inputs):
        interpreter.set_tensor(detail["index"], inputs)
        interpreter.invoke()
        return interpreter.get_tensor(output)
    return run


def onnx_session(proto):
    session = onnxruntime.InferenceSession(
        proto.SerializeToString(), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return lambda inputs: session.run(None, {name: inputs})[0]


def litert(model, quantize=False):
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    if quantize:
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    # from_keras_model prints its temporary SavedModel's signature.
    with contextlib.redirect_stdout(io.StringIO()):
        return converter.convert()


def loop_op(proto):
    ops = {node.op_type for node in proto.graph.node}
    return "/".join(sorted(ops & {"GRU", "Loop", "Scan"})) or "-"


def entry_points(model, x):
    """`(name, bytes, what runs it, loop op)` for each converter entry."""
    rows = [("TFLiteConverter.from_keras_model", litert(model), "litert", "WHILE"),
            ("  + dynamic-range quantization", litert(model, quantize=True),
             "litert", "WHILE")]
    with gru_keras.portable():
        concrete = tf.function(model).get_concrete_function(
            tf.TensorSpec((1, None, 16)))
    converter = tf.lite.TFLiteConverter.from_concrete_functions([concrete])
    rows.append(("TFLiteConverter.from_concrete_functions (traced in "
                 "gru_keras.portable())", converter.convert(), "litert", "WHILE"))
    with tempfile.TemporaryDirectory() as tmp:
        model.export(f"{tmp}/m.tflite", format="litert", verbose=False)
        with open(f"{tmp}/m.tflite", "rb") as f:
            rows.append(('model.export(format="litert")', f.read(), "litert",
                         "WHILE"))
        model.export(f"{tmp}/m.onnx", format="onnx", verbose=False)
        proto = onnx.load(f"{tmp}/m.onnx")
        rows.append(('model.export(format="onnx")', proto, "onnx",
                     loop_op(proto)))
    spec = (tf.TensorSpec((1, None, 16), tf.float32, name="x"),)
    proto, _ = tf2onnx.convert.from_keras(model, input_signature=spec)
    rows.append(("tf2onnx.convert.from_keras", proto, "onnx", loop_op(proto)))
    proto, _ = tf2onnx.convert.from_function(
        tf.function(lambda t: model(t)), input_signature=spec)
    rows.append(("tf2onnx.convert.from_function", proto, "onnx",
                 loop_op(proto)))
    return rows


def conversion_table(x, with_keras=True):
    print("\n| converter entry | gru_keras max abs diff | size (bytes) | loop op "
          "| keras.layers.GRU max abs diff | size (bytes) | loop op |")
    print("|---|---|---|---|---|---|---|")
    ours = issue_model(gru_keras.GRU)
    theirs = issue_model(keras.layers.GRU, ours.get_weights())
    expected = theirs.predict(x, verbose=0)
    cells = {"keras": {}}
    for who, model in (("ours", ours), ("keras", theirs))[:2 if with_keras else 1]:
        try:
            rows = entry_points(model, x)
        except Exception as e:  # noqa: BLE001 - reported in the table
            cells[who] = e
            continue
        for name, artifact, runtime, op in rows:
            try:
                run = (litert_session(artifact, x) if runtime == "litert"
                       else onnx_session(artifact))
                error = f"{np.max(np.abs(run(x) - expected)):.1e}"
            except Exception as e:  # noqa: BLE001 - reported in the table
                error = f"fails: {str(e).splitlines()[0][:90]}"
            size = (len(artifact) if isinstance(artifact, bytes)
                    else artifact.ByteSize())
            cells.setdefault(who, {})[name] = (error, size, op)
    for name in cells["ours"]:
        row = [name, *cells["ours"][name]]
        row += (cells["keras"].get(name, ("-", "-", "-"))
                if isinstance(cells["keras"], dict) else ["fails", "-", "-"])
        print("| " + " | ".join(str(c) for c in row) + " |")
    print(f"(Keras output scale: max |y| = {np.max(np.abs(expected)):.2f})")


def speed_table(shapes, repeats):
    print("\n| (B, T, D, U) | keras TF ms | gru_keras TF ms | portable graph "
          "in TF ms | onnxruntime (GRU op) ms | LiteRT ms | "
          "onnxruntime vs gru_keras TF | max abs diff (ORT, LiteRT) |")
    print("|---|---|---|---|---|---|---|---|")
    for batch, steps, dim, units in shapes:
        keras.utils.set_random_seed(1)
        inputs = keras.Input((steps, dim), batch_size=batch)
        ours = keras.Model(inputs, gru_keras.GRU(units, return_sequences=True)(inputs))
        inputs = keras.Input((steps, dim), batch_size=batch)
        theirs = keras.Model(inputs, keras.layers.GRU(units, return_sequences=True)(inputs))
        theirs.set_weights(ours.get_weights())
        x = np.random.default_rng(0).standard_normal(
            (batch, steps, dim)).astype("float32")
        spec = (tf.TensorSpec((batch, None, dim), tf.float32, name="x"),)
        proto, _ = tf2onnx.convert.from_keras(ours, input_signature=spec)
        with gru_keras.portable():
            portable = tf.function(lambda t: ours(t))
            portable(x)
        fns = [tf.function(lambda t: theirs(t)), tf.function(lambda t: ours(t)),
               portable, onnx_session(proto), litert_session(litert(ours), x)]
        expected = np.asarray(fns[0](x))
        diffs = [np.max(np.abs(np.asarray(fn(x)) - expected)) for fn in fns[3:]]
        t = medians([functools.partial(fn, x) for fn in fns], repeats)
        print(f"| {(batch, steps, dim, units)} | "
              + " | ".join(f"{1e3 * s:.2f}" for s in t)
              + f" | {t[1] / t[3]:.2f}x | {diffs[0]:.1e}, {diffs[1]:.1e} |"
              + ("" if loop_op(proto) == "GRU" else " (no GRU op!)"),
              flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="tiny shapes, one repeat: correctness only")
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args(argv)
    print(f"machine: {machine()}; onnxruntime {onnxruntime.__version__}, "
          f"tf2onnx {tf2onnx.__version__}")
    x = np.random.default_rng(0).standard_normal((1, 9, 16)).astype("float32")
    conversion_table(x, with_keras=not args.quick)
    if args.quick:
        speed_table(QUICK_SHAPES, 1)
    else:
        speed_table(SHAPES, args.repeats)
    return 0


if __name__ == "__main__":
    sys.exit(main())
