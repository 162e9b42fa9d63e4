"""A model using gru_keras.GRU deploys wherever one using keras.layers.GRU does.

LiteRT (TFLite, builtin ops only, run in `ai-edge-litert`'s interpreter),
ONNX (tf2onnx, run in onnxruntime) and XLA-compiled training, each through
the entry points users call, with the real converters and runtimes on CPU.
The reference is always `keras.layers.GRU` holding the same weights, run in
TensorFlow; outputs must agree within 1e-5.
"""

import logging

import keras
import numpy as np
import pytest
import tensorflow as tf

import gru_keras

# The layer's own default policy (XLA where it measured faster), not the
# translation tests' (conftest.py).
pytestmark = pytest.mark.layer

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
tf2onnx = pytest.importorskip("tf2onnx")
litert = pytest.importorskip("ai_edge_litert.interpreter")

logging.getLogger("tf2onnx").setLevel(logging.ERROR)

FEATURES, UNITS, STEPS = 5, 4, 6
ATOL = 1e-5


def build(cls, batch=2, steps=None, bidirectional=False, masking=False,
          units=UNITS, **kwargs):
    inputs = keras.Input((steps, FEATURES), batch_size=batch)
    x = keras.layers.Masking(0.0)(inputs) if masking else inputs
    layer = cls(units, **kwargs)
    if bidirectional:
        layer = keras.layers.Bidirectional(layer)
    return keras.Model(inputs, layer(x))


def twins(rng, **kwargs):
    """(ours, Keras's) built alike, with the same varied weights."""
    ours = build(gru_keras.GRU, **kwargs)
    theirs = build(keras.layers.GRU, **kwargs)
    ours.set_weights([w + 0.3 * rng.standard_normal(w.shape).astype(w.dtype)
                      for w in ours.get_weights()])
    theirs.set_weights(ours.get_weights())
    return ours, theirs


def sample(rng, batch=2, steps=STEPS):
    return rng.standard_normal((batch, steps, FEATURES)).astype("float32")


def flat(outputs):
    return [np.asarray(t) for t in tf.nest.flatten(outputs)]


def run_litert(blob, x):
    """Outputs of a LiteRT model (in the model's output order) and its ops."""
    interpreter = litert.Interpreter(model_content=blob)
    (detail,) = interpreter.get_input_details()
    interpreter.resize_tensor_input(detail["index"], x.shape)
    interpreter.allocate_tensors()
    interpreter.set_tensor(detail["index"], x)
    interpreter.invoke()
    ops = {op["op_name"] for op in interpreter._get_ops_details()}
    return ([interpreter.get_tensor(d["index"])
             for d in interpreter.get_output_details()], ops)


def assert_same_outputs(got, expected, atol=ATOL):
    """Each expected output has a got one of its shape within `atol`
    (converters may reorder multiple outputs)."""
    assert len(got) == len(expected)
    for e in expected:
        errors = [np.max(np.abs(g - e)) for g in got if g.shape == e.shape]
        assert errors and min(errors) <= atol, (e.shape, errors)


def to_litert(model, quantize=False):
    """The user's call: `from_keras_model`, whose default target is builtin
    ops only (the tests also check that no Flex op is left)."""
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT] if quantize else []
    return converter.convert()


LAYER_CASES = {
    "last output": {},
    "reset_after=False": {"reset_after": False},
    "go_backwards": {"go_backwards": True, "return_sequences": True},
    "return_sequences": {"return_sequences": True},
    "return_state": {"return_state": True},
    "Bidirectional": {"bidirectional": True, "return_sequences": True},
    "Bidirectional, reset_after=False": {"bidirectional": True,
                                         "reset_after": False},
    "masking": {"masking": True, "return_sequences": True},
}


@pytest.mark.parametrize("case", list(LAYER_CASES))
def test_litert_builtin_ops_match_keras(rng, case):
    ours, theirs = twins(rng, **LAYER_CASES[case])
    x = sample(rng)
    if LAYER_CASES[case].get("masking"):
        x[0, 4:] = 0.0  # padding the Masking layer hides
    got, ops = run_litert(to_litert(ours), x)
    assert "WHILE" in ops and not any(op.startswith("Flex") for op in ops)
    assert_same_outputs(got, flat(theirs(x)))


@pytest.mark.parametrize("batch,steps", [(2, STEPS), (None, None)])
def test_litert_fixed_time_and_dynamic_batch(rng, batch, steps):
    """A fixed time axis converts too; so does a dynamic batch, which
    Keras's own GRU does not (its TensorLists need a static batch)."""
    ours, theirs = twins(rng, batch=batch, steps=steps, return_sequences=True)
    blob = to_litert(ours)
    for x in [sample(rng)] + ([sample(rng, batch=3, steps=4)] if batch is None
                              else []):
        got, _ = run_litert(blob, x)
        assert_same_outputs(got, flat(theirs(x)))


def test_litert_dynamic_range_quantization(rng):
    """int8 weights: the converted model is smaller, close to the float
    one, and matches Keras's own GRU quantized the same way. (The converter
    leaves weights under 1,024 values in float: 48 units here.)"""
    ours, theirs = twins(rng, units=48, bidirectional=True,
                         return_sequences=True)
    x = sample(rng)
    float_blob, quantized = to_litert(ours), to_litert(ours, quantize=True)
    (got,), _ = run_litert(quantized, x)
    (keras_quantized,), _ = run_litert(to_litert(theirs, quantize=True), x)
    (expected,) = flat(theirs(x))
    assert len(quantized) < len(float_blob)
    np.testing.assert_allclose(got, keras_quantized, atol=ATOL, rtol=0)
    assert np.max(np.abs(got - expected)) < 0.05 * np.max(np.abs(expected))


def test_litert_from_concrete_functions_and_keras_export(rng, tmp_path):
    """The other two entry points: a function traced inside
    `gru_keras.portable()` (it is traced before the converter sees it), and
    Keras's `model.export(format="litert")`, which with Keras's own GRU
    needs the Flex delegate."""
    ours, theirs = twins(rng, return_sequences=True)
    x = sample(rng)
    expected = flat(theirs(x))
    with gru_keras.portable():
        concrete = tf.function(ours).get_concrete_function(
            tf.TensorSpec((2, None, FEATURES)))
    converter = tf.lite.TFLiteConverter.from_concrete_functions([concrete])
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    got, _ = run_litert(converter.convert(), x)
    assert_same_outputs(got, expected)

    ours.export(tmp_path / "model.tflite", format="litert", verbose=False)
    got, ops = run_litert((tmp_path / "model.tflite").read_bytes(), x)
    assert not any(op.startswith("Flex") for op in ops)
    assert_same_outputs(got, expected)


def test_stateful_converts_to_a_model_that_starts_from_the_converted_state(rng):
    """A converter freezes the state variable like any weight (Keras's own
    GRU too): the converted model starts every call from the state the layer
    held when it was converted, and carries nothing between calls."""
    ours, theirs = twins(rng, stateful=True, return_sequences=True)
    x = sample(rng)
    ours.layers[-1].reset_states()
    theirs.layers[-1].reset_states()
    blob = to_litert(ours)
    first = flat(theirs(x))
    assert_same_outputs(run_litert(blob, x)[0], first)
    assert_same_outputs(run_litert(blob, x)[0], first)


def onnx_ops(proto):
    return {node.op_type for node in proto.graph.node}


def run_onnx(proto_or_path, x):
    model = (proto_or_path if isinstance(proto_or_path, str)
             else proto_or_path.SerializeToString())
    session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: x})


# Which configurations tf2onnx turns into an ONNX GRU op, and which into a
# Loop (documented in the README).
ONNX_CASES = {
    "last output": ({}, "GRU"),
    "go_backwards": ({"go_backwards": True, "return_sequences": True}, "GRU"),
    "return_state": ({"return_state": True}, "GRU"),
    "Bidirectional": ({"bidirectional": True, "return_sequences": True}, "GRU"),
    "use_bias=False": ({"use_bias": False}, "GRU"),
    "relu": ({"activation": "relu", "return_sequences": True}, "GRU"),
    "reset_after=False": ({"reset_after": False}, "Loop"),
    "masking": ({"masking": True, "return_sequences": True}, "Loop"),
    "hard_sigmoid": ({"recurrent_activation": "hard_sigmoid"}, "Loop"),
}


@pytest.mark.parametrize("case", list(ONNX_CASES))
def test_onnx_from_keras_matches_keras(rng, case):
    kwargs, op = ONNX_CASES[case]
    ours, theirs = twins(rng, batch=None, **kwargs)
    x = sample(rng, batch=3)
    if kwargs.get("masking"):
        x[1, 3:] = 0.0
    proto, _ = tf2onnx.convert.from_keras(
        ours, input_signature=(tf.TensorSpec((None, None, FEATURES)),),
        opset=17)
    ops = onnx_ops(proto)
    assert op in ops and not ({"GRU", "Loop"} - {op}) & ops, ops
    assert_same_outputs(run_onnx(proto, x), flat(theirs(x)))


def test_onnx_from_function_and_keras_export(rng, tmp_path):
    ours, theirs = twins(rng, batch=None, bidirectional=True,
                         return_sequences=True)
    x = sample(rng, batch=3)
    expected = flat(theirs(x))
    spec = (tf.TensorSpec((None, None, FEATURES), tf.float32, name="x"),)
    proto, _ = tf2onnx.convert.from_function(
        tf.function(lambda t: ours(t)), input_signature=spec, opset=17)
    assert "GRU" in onnx_ops(proto)
    assert_same_outputs(run_onnx(proto, x), expected)

    path = tmp_path / "model.onnx"
    ours.export(path, format="onnx", verbose=False)
    assert "GRU" in onnx_ops(onnx.load(path))
    assert_same_outputs(run_onnx(str(path), x), expected)


def fit_and_predict(cls, jit_compile, dropout=0.0):
    """Predictions and weights after two training steps (one shape, so one
    compilation each for training and predict)."""
    keras.utils.set_random_seed(7)
    inputs = keras.Input((None, FEATURES))
    if dropout:
        x = cls(UNITS, dropout=dropout, recurrent_dropout=dropout)(inputs)
    else:
        x = cls(UNITS, return_sequences=True)(inputs)
        x = cls(UNITS, go_backwards=True)(x)
    model = keras.Model(inputs, keras.layers.Dense(2)(x))
    model.compile(optimizer="adam", loss="mse", jit_compile=jit_compile)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((8, STEPS, FEATURES)).astype("float32")
    y = rng.standard_normal((8, 2)).astype("float32")
    model.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0)
    return [model.predict(x, batch_size=8, verbose=0)] + model.get_weights()


def test_xla_compiled_training_matches_uncompiled():
    for a, b in zip(fit_and_predict(gru_keras.GRU, True),
                    fit_and_predict(gru_keras.GRU, False), strict=True):
        np.testing.assert_allclose(a, b, atol=ATOL, rtol=0)


def test_xla_compiled_training_with_dropout_matches_keras():
    """With dropout, XLA draws other random masks than TensorFlow (Keras's
    own GRU changes as much): compared with Keras under XLA instead."""
    for a, b in zip(fit_and_predict(gru_keras.GRU, True, dropout=0.2),
                    fit_and_predict(keras.layers.GRU, True, dropout=0.2),
                    strict=True):
        np.testing.assert_allclose(a, b, atol=ATOL, rtol=0)


def xla_calls(concrete):
    """How many function calls in the traced graph (and the functions it
    calls) ask for XLA."""
    graph_def = concrete.graph.as_graph_def()
    nodes = list(graph_def.node) + [n for f in graph_def.library.function
                                    for n in f.node_def]
    return sum(1 for n in nodes if n.attr["_XlaMustCompile"].b)


def test_the_environment_sets_the_xla_policy_and_use_xla_overrides_it(rng, monkeypatch):
    ours, _ = twins(rng, bidirectional=True, return_sequences=True)
    spec = tf.TensorSpec(sample(rng).shape)
    monkeypatch.setenv("GRU_KERAS_XLA", "0")
    assert gru_keras.xla_policy() is False
    assert xla_calls(tf.function(ours).get_concrete_function(spec)) == 0
    with gru_keras.use_xla("auto"):
        assert xla_calls(tf.function(ours).get_concrete_function(spec)) > 0
    assert gru_keras.xla_policy() is False, "the environment's again after the block"
    monkeypatch.setenv("GRU_KERAS_XLA", "On")
    assert gru_keras.xla_policy() is True
    monkeypatch.setenv("GRU_KERAS_XLA", "sometimes")
    with pytest.raises(ValueError, match="GRU_KERAS_XLA='sometimes': expected one of auto"):
        gru_keras.xla_policy()


def test_plain_tf_function_keeps_the_fast_path_and_portable_does_not(rng):
    """The converter's graph is chosen only for converters: an ordinary
    `tf.function` (as Keras's predict and fit) still gets the compiled fast
    path, and `portable()` gives the same outputs and gradients without it."""
    ours, theirs = twins(rng, bidirectional=True, return_sequences=True)
    x = tf.constant(sample(rng))
    spec = tf.TensorSpec(x.shape)
    with gru_keras.use_xla("auto"):  # the default, whatever GRU_KERAS_XLA says
        assert xla_calls(tf.function(ours).get_concrete_function(spec)) > 0
    with gru_keras.portable():
        assert xla_calls(tf.function(ours).get_concrete_function(spec)) == 0

    def outputs_and_gradients(model):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = model(x)
            loss = tf.reduce_sum(y * y)
        return [y] + tape.gradient(loss, [x] + model.trainable_weights)

    with gru_keras.portable():
        got = outputs_and_gradients(ours)
    for a, b in zip(got, outputs_and_gradients(theirs), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-4, rtol=0)


def test_portable_rejects_other_values():
    with pytest.raises(ValueError, match="portable expects True, False or 'auto'"):
        with gru_keras.portable("yes"):
            pass
