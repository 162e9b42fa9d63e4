"""Saving, reloading, exporting and weight layout of `gru_keras.GRU`.

What a user relies on when swapping `keras.layers.GRU` for `gru_keras.GRU`:

- a `.keras` file of a model using the layer reloads in a fresh Python
  process with only `import gru_keras` (no `custom_objects`), as our classes,
  with the same outputs;
- `get_config` / `from_config` and `keras.saving.serialize_keras_object` /
  `deserialize_keras_object` round trip every constructor argument, for the
  layer and for `gru_keras.GRUCell` inside `keras.layers.RNN`;
- `model.export(...)` writes a TensorFlow SavedModel that serves the same
  outputs in a process that never imports `gru_keras`;
- the layer holds exactly Keras's weights (names, shapes, count, no extra
  variables), so weights move freely between the two implementations.

The reload/export checks run in subprocesses (`sys.executable -c ...`) so that
nothing registered or cached in the test process can make them pass.
"""

import copy
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import keras
import numpy as np
import pytest

import gru_keras

# The layer's own default policy (XLA where it measured faster), not the
# translation tests' (conftest.py).
pytestmark = pytest.mark.layer

REPO_ROOT = Path(__file__).resolve().parents[1]
ATOL = 1e-6


# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------

def run_python(code, cwd, timeout=180):
    """Runs `code` in a fresh interpreter; fails the test on a non-zero exit.

    The child gets TF_CPP_MIN_LOG_LEVEL=2, the TensorFlow backend, and this
    checkout first on PYTHONPATH (so `import gru_keras` there means the same
    package the tests import here).

    Returns:
        The child's stdout.
    """
    env = dict(os.environ)
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    env["KERAS_BACKEND"] = "tensorflow"
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(REPO_ROOT), env.get("PYTHONPATH")) if p)
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, (
        f"subprocess failed (rc={proc.returncode})\n--- stdout ---\n"
        f"{proc.stdout}\n--- stderr ---\n{proc.stderr[-6000:]}")
    return proc.stdout


def last_json_line(stdout):
    """The last line of `stdout` that parses as JSON (the child's report)."""
    for line in reversed(stdout.strip().splitlines()):
        try:
            return json.loads(line)
        except ValueError:
            continue
    raise AssertionError(f"no JSON report in subprocess output:\n{stdout}")


def randomize_weights(model, seed=0):
    """Replaces every weight with random values (zero biases included).

    A reload that dropped or reordered any weight, or reinitialised a bias,
    then changes the outputs instead of going unnoticed.
    """
    rng = np.random.default_rng(seed)
    model.set_weights([
        (0.4 * rng.standard_normal(w.shape)).astype(w.dtype)
        for w in model.get_weights()])


def build_model(seed=0):
    """Input(None, 6) -> GRU(8, seq) -> Bidirectional(GRU(5)) -> Dense(3)."""
    inputs = keras.Input(shape=(None, 6), name="x")
    h = gru_keras.GRU(8, return_sequences=True, name="gru_seq")(inputs)
    h = keras.layers.Bidirectional(gru_keras.GRU(5, name="gru_last"),
                                   name="bidi")(h)
    outputs = keras.layers.Dense(3, name="head")(h)
    model = keras.Model(inputs, outputs, name="gru_model")
    randomize_weights(model, seed)
    return model


def fixed_input(shape=(3, 7, 6), seed=42):
    return np.random.default_rng(seed).standard_normal(shape).astype("float32")


def relative_path(variable):
    """A variable's path without its owning layer's (auto-numbered) name."""
    return variable.path.split("/", 1)[-1]


# --------------------------------------------------------------------------
# 1. .keras file reloads in a fresh process with only `import gru_keras`
# --------------------------------------------------------------------------

def test_keras_file_reloads_in_fresh_process_with_same_outputs(tmp_path):
    """A `.keras` model reloads in a new process by `import gru_keras` alone.

    The child calls `keras.models.load_model` with no `custom_objects`, checks
    that every GRU (the plain one and both directions of `Bidirectional`) is a
    `gru_keras.GRU` whose cell is a `gru_keras.GRUCell`, and writes its
    predictions on the saved input; they must equal the original model's.
    """
    model = build_model()
    x = fixed_input()
    expected = model.predict(x, verbose=0)
    # Sanity: the weights matter (the check below can fail on a bad reload).
    assert np.abs(expected).max() > 1e-2
    model_path = tmp_path / "model.keras"
    model.save(model_path)
    np.save(tmp_path / "x.npy", x)

    stdout = run_python(f"""
        import json, sys
        import numpy as np
        import keras
        import gru_keras

        model = keras.models.load_model({str(model_path)!r})
        bidi = model.get_layer("bidi")
        grus = {{
            "gru_seq": model.get_layer("gru_seq"),
            "forward": bidi.forward_layer,
            "backward": bidi.backward_layer,
        }}
        report = {{
            name: [type(layer).__module__ + "." + type(layer).__qualname__,
                   type(layer.cell).__module__ + "."
                   + type(layer.cell).__qualname__]
            for name, layer in grus.items()
        }}
        for name, layer in grus.items():
            assert isinstance(layer, gru_keras.GRU), (name, type(layer))
            assert isinstance(layer.cell, gru_keras.GRUCell), (
                name, type(layer.cell))
        assert bidi.backward_layer.go_backwards
        x = np.load({str(tmp_path / "x.npy")!r})
        np.save({str(tmp_path / "y_reloaded.npy")!r},
                model.predict(x, verbose=0))
        print(json.dumps(report))
    """, cwd=tmp_path)

    report = last_json_line(stdout)
    for name in ("gru_seq", "forward", "backward"):
        assert report[name] == ["gru_keras.layer.GRU",
                                "gru_keras.cell.GRUCell"], report
    reloaded = np.load(tmp_path / "y_reloaded.npy")
    assert reloaded.shape == expected.shape == (3, 3)
    np.testing.assert_allclose(reloaded, expected, atol=ATOL, rtol=0)


# --------------------------------------------------------------------------
# 2. get_config / from_config / serialize round trips
# --------------------------------------------------------------------------

NON_DEFAULT_LAYER_ARGS = [
    pytest.param(dict(
        units=7, reset_after=False, go_backwards=True, return_sequences=True,
        return_state=True, dropout=0.1, recurrent_dropout=0.2,
        kernel_regularizer="l2", use_bias=False, activation="relu",
        recurrent_activation="hard_sigmoid", kernel_initializer="he_normal",
        recurrent_initializer="glorot_normal", recurrent_constraint="non_neg",
        activity_regularizer="l1", seed=11, name="custom_gru",
    ), id="many-non-defaults"),
    pytest.param(dict(
        units=3, unroll=True, stateful=True, bias_initializer="ones",
        bias_regularizer="l2", recurrent_regularizer="l1",
        kernel_constraint="unit_norm", bias_constraint="max_norm",
        trainable=False, dtype="float64", name="other_gru",
    ), id="stateful-unrolled-float64"),
]


@pytest.mark.parametrize("kwargs", NON_DEFAULT_LAYER_ARGS)
def test_layer_get_config_round_trips(kwargs):
    """`GRU.from_config(get_config())` rebuilds the same layer, as ours.

    Also checks the non-default arguments really are in the config (so the
    comparison is not between two default configs), that it survives JSON
    (what a `.keras` file stores), and that it equals the config of a
    `keras.layers.GRU` built with the same arguments (drop-in).
    """
    layer = gru_keras.GRU(**kwargs)
    config = layer.get_config()
    for key, value in kwargs.items():
        if key == "dtype":
            assert layer.dtype == value
        elif isinstance(value, str) and key not in ("name", "activation",
                                                    "recurrent_activation"):
            assert config[key] is not None, key  # serialized object
        else:
            assert config[key] == value, (key, config[key], value)

    rebuilt = gru_keras.GRU.from_config(copy.deepcopy(config))
    assert type(rebuilt) is gru_keras.GRU
    assert type(rebuilt.cell) is gru_keras.GRUCell
    assert rebuilt.get_config() == config
    # The cell really got the arguments (not only the layer's config dict).
    assert rebuilt.cell.units == kwargs["units"]
    assert rebuilt.cell.reset_after == kwargs.get("reset_after", True)
    assert rebuilt.cell.dropout == kwargs.get("dropout", 0.0)
    assert rebuilt.cell.recurrent_dropout == kwargs.get(
        "recurrent_dropout", 0.0)
    assert rebuilt.cell.use_bias == kwargs.get("use_bias", True)

    via_json = gru_keras.GRU.from_config(json.loads(json.dumps(config)))
    assert via_json.get_config() == config

    assert keras.layers.GRU(**kwargs).get_config() == config


@pytest.mark.parametrize("kwargs", NON_DEFAULT_LAYER_ARGS)
def test_layer_serialize_keras_object_round_trips(kwargs):
    """`serialize_keras_object` names "gru_keras>GRU"; deserializing it (no
    custom_objects) gives a `gru_keras.GRU` with an identical config."""
    layer = gru_keras.GRU(**kwargs)
    serialized = keras.saving.serialize_keras_object(layer)
    assert serialized["registered_name"] == "gru_keras>GRU"
    assert keras.saving.get_registered_name(gru_keras.GRU) == "gru_keras>GRU"
    assert keras.saving.get_registered_object("gru_keras>GRU") is gru_keras.GRU

    restored = keras.saving.deserialize_keras_object(
        json.loads(json.dumps(serialized)))
    assert type(restored) is gru_keras.GRU
    assert type(restored.cell) is gru_keras.GRUCell
    assert restored.get_config() == layer.get_config()
    assert keras.saving.serialize_keras_object(restored) == serialized


def test_cell_config_round_trips_inside_rnn():
    """`gru_keras.GRUCell` in `keras.layers.RNN` round trips as our cell.

    Checked via `RNN.from_config` and via `serialize_keras_object`; the cell
    entry must carry the registered name "gru_keras>GRUCell". (Keras's
    `RNN.from_config` pops "cell" from the dict it gets, hence the copies.)
    """
    cell_kwargs = dict(
        units=4, reset_after=False, dropout=0.3, recurrent_dropout=0.1,
        use_bias=False, activation="relu", kernel_regularizer="l2", seed=3)
    cell = gru_keras.GRUCell(**cell_kwargs)
    cell_config = cell.get_config()
    for key in ("units", "reset_after", "dropout", "recurrent_dropout",
                "use_bias", "activation", "seed"):
        assert cell_config[key] == cell_kwargs[key], key
    assert (gru_keras.GRUCell.from_config(copy.deepcopy(cell_config))
            .get_config() == cell_config)

    rnn = keras.layers.RNN(cell, return_sequences=True, go_backwards=True,
                           name="rnn_of_ours")
    config = rnn.get_config()
    assert config["cell"]["registered_name"] == "gru_keras>GRUCell"

    rebuilt = keras.layers.RNN.from_config(copy.deepcopy(config))
    assert type(rebuilt.cell) is gru_keras.GRUCell
    assert rebuilt.get_config() == config

    serialized = keras.saving.serialize_keras_object(rnn)
    restored = keras.saving.deserialize_keras_object(
        json.loads(json.dumps(serialized)))
    assert type(restored) is keras.layers.RNN
    assert type(restored.cell) is gru_keras.GRUCell
    assert restored.get_config() == config


# --------------------------------------------------------------------------
# 3. model.export -> tf.saved_model.load without gru_keras
# --------------------------------------------------------------------------

def test_export_serves_same_outputs_without_gru_keras(tmp_path):
    """`model.export` output serves the same results with gru_keras absent.

    The child loads the SavedModel with `tf.saved_model.load` only, calls
    `serve` on two inputs of different batch and time sizes (the signature
    has dynamic dimensions), and asserts `gru_keras` was never imported.
    """
    model = build_model(seed=1)
    xs = [fixed_input((3, 7, 6), seed=5), fixed_input((1, 4, 6), seed=6)]
    expected = [model.predict(x, verbose=0) for x in xs]
    export_dir = tmp_path / "exported"
    model.export(str(export_dir), format="tf_saved_model", verbose=False)
    for i, x in enumerate(xs):
        np.save(tmp_path / f"x{i}.npy", x)

    stdout = run_python(f"""
        import json, sys
        import numpy as np
        import tensorflow as tf

        loaded = tf.saved_model.load({str(export_dir)!r})
        for i in range(2):
            x = np.load({str(tmp_path)!r} + f"/x{{i}}.npy")
            y = loaded.serve(tf.constant(x))
            np.save({str(tmp_path)!r} + f"/y{{i}}.npy", np.asarray(y))
        report = {{"gru_keras_imported": "gru_keras" in sys.modules,
                   "modules": sorted(m for m in sys.modules
                                     if m.startswith("gru_keras"))}}
        print(json.dumps(report))
        assert "gru_keras" not in sys.modules, report
    """, cwd=tmp_path)

    report = last_json_line(stdout)
    assert report == {"gru_keras_imported": False, "modules": []}
    for i, want in enumerate(expected):
        got = np.load(tmp_path / f"y{i}.npy")
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, atol=ATOL, rtol=0)


# --------------------------------------------------------------------------
# 4. Exactly Keras's weights
# --------------------------------------------------------------------------

def test_is_a_keras_gru():
    """Our classes are Keras's classes as far as `isinstance` goes."""
    layer = gru_keras.GRU(3)
    assert isinstance(layer, keras.layers.GRU)
    assert isinstance(layer, keras.layers.RNN)
    assert isinstance(layer.cell, keras.layers.GRUCell)
    assert isinstance(layer.cell, gru_keras.GRUCell)
    assert isinstance(gru_keras.GRUCell(3), keras.layers.GRUCell)


@pytest.mark.parametrize("kwargs", [
    pytest.param({}, id="default"),
    pytest.param(dict(reset_after=False), id="reset_before"),
    pytest.param(dict(use_bias=False), id="no_bias"),
    pytest.param(dict(dropout=0.2, recurrent_dropout=0.1, seed=1),
                 id="dropout"),
    pytest.param(dict(trainable=False), id="frozen"),
])
def test_weights_match_keras_gru(kwargs):
    """Same weights and variables as `keras.layers.GRU`: names, shapes,
    trainability and order, for the layer and for its cell; nothing extra."""
    input_shape = (2, 5, 6)
    theirs = keras.layers.GRU(4, **kwargs)
    ours = gru_keras.GRU(4, **kwargs)
    theirs.build(input_shape)
    ours.build(input_shape)

    def describe(variables):
        return [(relative_path(v), v.name, tuple(v.shape), v.trainable,
                 str(v.dtype)) for v in variables]

    for attr in ("weights", "trainable_weights", "non_trainable_weights",
                 "variables"):
        assert (len(getattr(ours, attr)) == len(getattr(theirs, attr))), attr
        assert (describe(getattr(ours, attr))
                == describe(getattr(theirs, attr))), attr
        assert (describe(getattr(ours.cell, attr))
                == describe(getattr(theirs.cell, attr))), f"cell.{attr}"

    expected_names = ["kernel", "recurrent_kernel"]
    if kwargs.get("use_bias", True):
        expected_names.append("bias")
    assert [v.name for v in ours.weights] == expected_names
    assert ours.count_params() == theirs.count_params()
    # Keras's weights load into ours unchanged and come back unchanged.
    rng = np.random.default_rng(0)
    values = [rng.standard_normal(w.shape).astype("float32")
              for w in theirs.get_weights()]
    ours.set_weights(values)
    for got, want in zip(ours.get_weights(), values, strict=True):
        np.testing.assert_array_equal(got, want)


def test_keras_file_weights_load_into_keras_gru_model(tmp_path):
    """Weights saved from a model of ours load into the same architecture
    built from `keras.layers.GRU`, and both give the same outputs."""
    ours = build_model(seed=2)
    weights_path = tmp_path / "ours.weights.h5"
    ours.save_weights(weights_path)

    inputs = keras.Input(shape=(None, 6), name="x")
    h = keras.layers.GRU(8, return_sequences=True, name="gru_seq")(inputs)
    h = keras.layers.Bidirectional(keras.layers.GRU(5, name="gru_last"),
                                   name="bidi")(h)
    outputs = keras.layers.Dense(3, name="head")(h)
    theirs = keras.Model(inputs, outputs, name="gru_model")
    theirs.load_weights(weights_path)

    for a, b in zip(ours.get_weights(), theirs.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    x = fixed_input((2, 6, 6), seed=9)
    np.testing.assert_allclose(theirs.predict(x, verbose=0),
                               ours.predict(x, verbose=0), atol=1e-5, rtol=0)
