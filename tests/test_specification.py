"""The specification's four GRU equations, transcribed literally in NumPy.

    z_t = σ(W_z [h_{t-1}, x_t])
    r_t = σ(W_r [h_{t-1}, x_t])
    h'_t = tanh(W [r_t * h_{t-1}, x_t])
    h_t = (1 - z_t) * h_{t-1} + z_t * h'_t

Keras (and so gru_keras) writes the last line as z*h + (1-z)*h', so its z is
the specification's 1 - z: the same function once the z weights are negated.
"""

import numpy as np
import pytest

import gru_keras

# The layer's own default policy (XLA where it measured faster), not the
# translation tests' (conftest.py).
pytestmark = pytest.mark.layer


def sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def specification_gru(xs, h, w_z, w_r, w):
    """The specification, one time step at a time; returns every h_t."""
    states = []
    for x in xs:
        z = sigmoid(w_z @ np.concatenate([h, x]))
        r = sigmoid(w_r @ np.concatenate([h, x]))
        h_candidate = np.tanh(w @ np.concatenate([r * h, x]))
        h = (1 - z) * h + z * h_candidate
        states.append(h)
    return np.stack(states)


def keras_weights(w_z, w_r, w, units):
    """Keras's kernel and recurrent kernel for the specification's weights.

    Each W acts on [h, x]: its first `units` columns multiply h (the
    recurrent kernel), the rest multiply x (the kernel). z is negated.
    """
    gates = (-w_z, w_r, w)
    kernel = np.concatenate([g[:, units:].T for g in gates], axis=1)
    recurrent = np.concatenate([g[:, :units].T for g in gates], axis=1)
    return kernel.astype("float32"), recurrent.astype("float32")


@pytest.mark.parametrize("units,features,steps", [(4, 3, 6), (16, 9, 12)])
def test_layer_implements_the_specification(rng, units, features, steps):
    w_z, w_r, w = (rng.normal(size=(units, units + features)) for _ in range(3))
    xs = rng.normal(size=(steps, features))
    h0 = rng.normal(size=units)
    expected = specification_gru(xs, h0, w_z, w_r, w)

    layer = gru_keras.GRU(units, use_bias=False, reset_after=False,
                          return_sequences=True)
    layer(np.zeros((1, steps, features), "float32"))
    layer.set_weights(list(keras_weights(w_z, w_r, w, units)))
    got = layer(xs[None].astype("float32"),
                initial_state=h0[None].astype("float32"))
    np.testing.assert_allclose(np.asarray(got)[0], expected, atol=1e-5)


def test_cell_implements_the_specification(rng):
    units, features = 5, 3
    w_z, w_r, w = (rng.normal(size=(units, units + features)) for _ in range(3))
    x, h = rng.normal(size=features), rng.normal(size=units)
    cell = gru_keras.GRUCell(units, use_bias=False, reset_after=False)
    cell.build((1, features))
    cell.set_weights(list(keras_weights(w_z, w_r, w, units)))
    got, _ = cell(x[None].astype("float32"), [h[None].astype("float32")])
    expected = specification_gru(x[None], h, w_z, w_r, w)[0]
    np.testing.assert_allclose(np.asarray(got)[0], expected, atol=1e-5)


def test_without_negated_z_the_layer_differs(rng):
    """The mapping matters: copying W_z as is gives a different function."""
    units, features = 4, 3
    w_z, w_r, w = (rng.normal(size=(units, units + features)) for _ in range(3))
    xs = rng.normal(size=(5, features))
    expected = specification_gru(xs, np.zeros(units), w_z, w_r, w)
    kernel, recurrent = keras_weights(-w_z, w_r, w, units)  # z not negated
    layer = gru_keras.GRU(units, use_bias=False, reset_after=False,
                          return_sequences=True)
    layer(xs[None].astype("float32"))
    layer.set_weights([kernel, recurrent])
    got = np.asarray(layer(xs[None].astype("float32")))[0]
    assert np.abs(got - expected).max() > 1e-2
