"""Shared fixtures: quiet TensorFlow, a seeded generator, Keras/ours pairs."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

import gru_keras  # noqa: E402


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture(autouse=True)
def _float32_policy():
    keras.mixed_precision.set_global_policy("float32")
    yield
    keras.mixed_precision.set_global_policy("float32")


def perturbed(weights, rng, scale=0.3):
    """Weights with noise added, so zero biases also get compared."""
    return [w + scale * rng.standard_normal(w.shape).astype(w.dtype)
            for w in weights]


def twin_layers(rng, units=4, features=5, source="keras", **kwargs):
    """A built keras.layers.GRU and gru_keras.GRU holding the same weights.

    Args:
        source: "keras" copies Keras's weights into ours, "ours" the reverse.
    """
    theirs = keras.layers.GRU(units, **kwargs)
    ours = gru_keras.GRU(units, **kwargs)
    probe = np.zeros((kwargs.get("batch", 2), 3, features), "float32")
    theirs(probe)
    ours(probe)
    if source == "keras":
        theirs.set_weights(perturbed(theirs.get_weights(), rng))
        ours.set_weights(theirs.get_weights())
    else:
        ours.set_weights(perturbed(ours.get_weights(), rng))
        theirs.set_weights(ours.get_weights())
    return theirs, ours


def assert_close(a, b, atol):
    for u, v in zip(tf.nest.flatten(a), tf.nest.flatten(b), strict=True):
        np.testing.assert_allclose(np.asarray(u), np.asarray(v), atol=atol, rtol=0)
