"""Keras behaviour users rely on: masking layers, regularizers, constraints,
stateful resets, training in a model, mixed precision, the cell in
keras.layers.RNN, and clear errors for bad input."""

import keras
import numpy as np
import pytest

import gru_keras
from conftest import assert_close, gradients, perturbed

# The layer's own default policy (XLA where it measured faster), not the
# translation tests' (conftest.py).
pytestmark = pytest.mark.layer


def twin_models(rng, build):
    theirs, ours = build(keras.layers.GRU), build(gru_keras.GRU)
    theirs.set_weights(perturbed(theirs.get_weights(), rng))
    ours.set_weights(theirs.get_weights())
    return theirs, ours


def test_mask_from_embedding_and_masking_layers(rng):
    ids = np.array([[3, 4, 5, 0, 0], [0, 0, 7, 8, 9], [0, 0, 0, 0, 0]])

    def embedded(gru):
        return keras.Sequential([keras.Input((5,), dtype="int32"),
                                 keras.layers.Embedding(12, 6, mask_zero=True),
                                 gru(4, return_sequences=True)])
    theirs, ours = twin_models(rng, embedded)
    assert_close(theirs(ids), ours(ids), atol=1e-5)

    x = rng.normal(size=(3, 5, 2)).astype("float32")
    x[0, 3:] = 0.0
    x[2] = 0.0

    def masked(gru):
        return keras.Sequential([keras.Input((5, 2)), keras.layers.Masking(0.0),
                                 gru(3)])
    theirs, ours = twin_models(rng, masked)
    assert_close(theirs(x), ours(x), atol=1e-5)


def test_regularizers_and_constraints(rng):
    kwargs = dict(kernel_regularizer="l2", recurrent_regularizer="l1",
                  bias_regularizer="l2", activity_regularizer="l2",
                  kernel_constraint=keras.constraints.MaxNorm(0.5),
                  recurrent_constraint="non_neg")

    def model(gru):
        m = keras.Sequential([keras.Input((4, 3)), gru(5, **kwargs),
                              keras.layers.Dense(1)])
        m.compile(optimizer=keras.optimizers.SGD(0.5), loss="mse")
        return m
    theirs, ours = twin_models(rng, model)
    x = rng.normal(size=(8, 4, 3)).astype("float32")
    y = rng.normal(size=(8, 1)).astype("float32")
    theirs(x), ours(x)
    assert_close(sum(theirs.losses), sum(ours.losses), atol=1e-5)
    theirs.fit(x, y, epochs=2, batch_size=4, shuffle=False, verbose=0)
    ours.fit(x, y, epochs=2, batch_size=4, shuffle=False, verbose=0)
    assert_close(theirs.get_weights(), ours.get_weights(), atol=1e-4)
    kernel = ours.layers[0].cell.recurrent_kernel.numpy()
    assert (kernel >= 0).all(), "recurrent constraint applied"


def test_stateful_carries_state_until_reset(rng):
    layer = gru_keras.GRU(3, stateful=True)
    x = rng.normal(size=(2, 4, 3)).astype("float32")
    first = np.asarray(layer(x))
    second = np.asarray(layer(x))
    assert np.abs(first - second).max() > 1e-4
    layer.reset_states()
    np.testing.assert_allclose(np.asarray(layer(x)), first, atol=1e-6)


def test_training_with_dropout_in_a_model_learns(rng):
    model = keras.Sequential([keras.Input((6, 3)),
                              gru_keras.GRU(16, dropout=0.2, recurrent_dropout=0.2),
                              keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    x = rng.normal(size=(64, 6, 3)).astype("float32")
    y = x.sum(axis=(1, 2))[:, None] / 4
    history = model.fit(x, y, epochs=15, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]


def test_cell_in_keras_rnn_matches_keras_cell(rng):
    x = rng.normal(size=(2, 5, 3)).astype("float32")
    for reset_after in (True, False):
        theirs = keras.layers.RNN(keras.layers.GRUCell(4, reset_after=reset_after),
                                  return_sequences=True)
        ours = keras.layers.RNN(gru_keras.GRUCell(4, reset_after=reset_after),
                                return_sequences=True)
        theirs(x), ours(x)
        theirs.set_weights(perturbed(theirs.get_weights(), rng))
        ours.set_weights(theirs.get_weights())
        assert_close(gradients(theirs, x), gradients(ours, x), atol=1e-4)


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_mixed_precision(rng, policy):
    x = rng.normal(size=(2, 5, 3)).astype("float32")
    reference = gru_keras.GRU(4, return_sequences=True)
    want = np.asarray(reference(x))
    keras.mixed_precision.set_global_policy(policy)
    layer = gru_keras.GRU(4, return_sequences=True, dropout=0.1,
                          recurrent_dropout=0.1)
    layer(x)
    layer.set_weights(reference.get_weights())
    compute = policy.split("_")[1]
    assert all(w.dtype == "float32" for w in layer.weights)
    for training in (False, True):
        got = layer(x, training=training)
        assert got.dtype == compute
    np.testing.assert_allclose(np.asarray(layer(x), "float32"), want,
                               atol=0.05 if compute == "bfloat16" else 5e-3)


def test_mixed_precision_keeps_the_state_in_float32(rng):
    """Slow update gates move the state by less than bfloat16 resolves: a
    bfloat16 state drifts from the float32 run over 48 steps (measured: ten
    times this bound); a float32 state stays close (a tenth of it)."""
    x = rng.normal(size=(8, 48, 16)).astype("float32")
    reference = gru_keras.GRU(32, return_sequences=True)
    reference(x)
    weights = reference.get_weights()
    weights[2][:, :32] += 3.0  # z near 1: small updates at every step
    reference.set_weights(weights)
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    layer = gru_keras.GRU(32, return_sequences=True, return_state=True)
    layer(x)
    layer.set_weights(weights)
    outputs, state = layer(x)
    assert outputs.dtype == "bfloat16" and state.dtype == "bfloat16"
    error = np.abs(np.asarray(outputs, "float32") - np.asarray(reference(x)))
    assert error.mean() < 2e-4, error.mean()


def test_use_cudnn_true_without_gpu_is_a_clear_error():
    layer = gru_keras.GRU(3, use_cudnn=True)
    with pytest.raises(ValueError, match="use_cudnn=True"):
        layer(np.zeros((1, 2, 3), "float32"))


@pytest.mark.parametrize("bad,message", [
    (np.zeros((2, 3), "float32"), r"expected ndim=3, found ndim=2"),
    (np.zeros((2, 3, 4), "int32"), r"floating-point inputs; received dtype int32"),
])
def test_bad_inputs_name_the_problem(bad, message):
    with pytest.raises(ValueError, match=message):
        gru_keras.GRU(3)(bad)


def test_wrong_feature_size_names_both_shapes():
    layer = gru_keras.GRU(3)
    layer(np.zeros((1, 2, 4), "float32"))
    with pytest.raises(ValueError, match=r"4 features.*received inputs of shape \(1, 2, 5\)"):
        layer(np.zeros((1, 2, 5), "float32"))


@pytest.mark.parametrize("units", [0, -2])
def test_non_positive_units_rejected(units):
    with pytest.raises(ValueError, match=f"got {units}"):
        gru_keras.GRU(units)
    with pytest.raises(ValueError, match=f"got {units}"):
        gru_keras.GRUCell(units)


def test_cudnn_dispatch_follows_keras(rng, monkeypatch):
    """Where Keras would use cuDNN, the layer hands the sequence to Keras's
    own cuDNN function (`backend.gru`), with Keras's arguments; where that
    raises NotImplementedError, Keras's per-step loop gives the same result."""
    from gru_keras import layer as layer_module
    from keras.src import backend as keras_backend

    calls = []

    def fake_cudnn_gru(*args, **kwargs):
        calls.append(kwargs)
        raise NotImplementedError

    monkeypatch.setattr(layer_module.keras_backend, "cudnn_ok", lambda *a, **k: True)
    monkeypatch.setattr(keras_backend, "gru", fake_cudnn_gru)
    x = rng.normal(size=(2, 4, 3)).astype("float32")
    reference = gru_keras.GRU(5, return_sequences=True)
    want = np.asarray(reference(x))
    layer = gru_keras.GRU(5, return_sequences=True)
    assert not layer.supports_jit, "cuDNN ops are not XLA-compatible"
    layer(x)
    layer.set_weights(reference.get_weights())
    np.testing.assert_allclose(np.asarray(layer(x)), want, atol=1e-6)
    assert calls and calls[-1]["reset_after"] is True

    calls.clear()
    with_recurrent_dropout = gru_keras.GRU(5, recurrent_dropout=0.1)
    with_recurrent_dropout(x)
    assert not calls, "Keras does not use cuDNN with recurrent dropout"
