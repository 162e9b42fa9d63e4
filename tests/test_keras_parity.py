"""gru_keras.GRU computes exactly what keras.layers.GRU computes.

Weights are copied between the two layers (both ways); outputs must agree
within 1e-5 and gradients (inputs and weights) within 1e-4, float32.
"""

import itertools

import keras
import numpy as np
import pytest
import tensorflow as tf

import gru_keras
from conftest import assert_close, gradients, perturbed

# The layer's own default policy (XLA where it measured faster), not the
# translation tests' (conftest.py).
pytestmark = pytest.mark.layer

BATCH, STEPS, FEATURES, UNITS = 3, 6, 5, 4

MASKS = {
    "none": None,
    "right-padded": [[1, 1, 1, 1, 0, 0], [1] * 6, [1, 1, 1, 0, 0, 0]],
    "left-padded+all-masked": [[0, 0, 1, 1, 1, 1], [0] * 6, [1, 1, 1, 1, 1, 0]],
}


def make(cls, wrap, **kwargs):
    layer = cls(UNITS, **kwargs)
    return keras.layers.Bidirectional(layer) if wrap else layer


def twins(rng, wrap=False, source="keras", **kwargs):
    theirs = make(keras.layers.GRU, wrap, **kwargs)
    ours = make(gru_keras.GRU, wrap, **kwargs)
    probe = np.zeros((BATCH, STEPS, FEATURES), "float32")
    theirs(probe)
    ours(probe)
    donor, taker = (theirs, ours) if source == "keras" else (ours, theirs)
    donor.set_weights(perturbed(donor.get_weights(), rng))
    taker.set_weights(donor.get_weights())
    if kwargs.get("stateful"):
        theirs.reset_states()
        ours.reset_states()
    return theirs, ours


def inputs(rng):
    return rng.normal(size=(BATCH, STEPS, FEATURES)).astype("float32")


def mask_tensor(name):
    return None if MASKS[name] is None else np.array(MASKS[name], bool)


def output_cases():
    for case in itertools.product([True, False], [False, True], [False, True],
                                  list(MASKS), [False, True], [False, True]):
        _, go_backwards, return_state, _, bidirectional, stateful = case
        # Keras 3.15's own Bidirectional fails on stateful + return_state
        # (Bidirectional.compute_mask multiplies a generator), with either GRU.
        if return_state and bidirectional and stateful:
            continue
        if supported_by_bidirectional(go_backwards, bidirectional):
            yield case


def supported_by_bidirectional(go_backwards, bidirectional):
    """Keras's Bidirectional refuses a layer that already goes backwards."""
    return not (go_backwards and bidirectional)


@pytest.mark.parametrize(
    "reset_after,go_backwards,return_state,mask,bidirectional,stateful",
    list(output_cases()))
def test_outputs_match(rng, reset_after, go_backwards, return_state, mask,
                       bidirectional, stateful):
    theirs, ours = twins(rng, wrap=bidirectional, reset_after=reset_after,
                         go_backwards=go_backwards, return_state=return_state,
                         return_sequences=True, stateful=stateful)
    m = mask_tensor(mask)
    calls = 2 if stateful else 1  # stateful: the second call starts from the first's state
    for _ in range(calls):
        x = inputs(rng)
        assert_close(theirs(x, mask=m), ours(x, mask=m), atol=1e-5)
    if stateful:
        theirs.reset_states()
        ours.reset_states()
        x = inputs(rng)
        assert_close(theirs(x, mask=m), ours(x, mask=m), atol=1e-5)


@pytest.mark.parametrize("source", ["keras", "ours"])
@pytest.mark.parametrize("return_sequences", [False, True])
def test_weights_move_both_ways(rng, source, return_sequences):
    theirs, ours = twins(rng, source=source, return_sequences=return_sequences)
    x = inputs(rng)
    assert_close(theirs(x), ours(x), atol=1e-5)


def test_initial_state_and_last_output(rng):
    theirs, ours = twins(rng, return_state=True)
    x = inputs(rng)
    h0 = rng.normal(size=(BATCH, UNITS)).astype("float32")
    m = mask_tensor("left-padded+all-masked")
    assert_close(theirs(x, initial_state=h0, mask=m),
                 ours(x, initial_state=h0, mask=m), atol=1e-5)


@pytest.mark.parametrize(
    "reset_after,go_backwards,mask,bidirectional",
    [case for case in itertools.product([True, False], [False, True],
                                        list(MASKS), [False, True])
     if supported_by_bidirectional(case[1], case[3])])
def test_gradients_match(rng, reset_after, go_backwards, mask, bidirectional):
    theirs, ours = twins(rng, wrap=bidirectional, reset_after=reset_after,
                         go_backwards=go_backwards, return_sequences=True)
    x, m = inputs(rng), mask_tensor(mask)
    assert_close(gradients(theirs, x, m), gradients(ours, x, m), atol=1e-4)


@pytest.mark.parametrize("dropout,recurrent_dropout,reset_after", [
    (0.3, 0.0, True), (0.0, 0.3, True), (0.25, 0.4, True), (0.25, 0.4, False)])
def test_dropout_matches_keras(rng, dropout, recurrent_dropout, reset_after):
    """Same seed, same masks (fixed over time): same training outputs and
    gradients as Keras's slow per-step path, through our compiled path."""
    theirs, ours = twins(rng, dropout=dropout, seed=7, reset_after=reset_after,
                         recurrent_dropout=recurrent_dropout,
                         return_sequences=True)
    x, m = inputs(rng), mask_tensor("right-padded")
    got = gradients(ours, x, m, training=True)
    want = gradients(theirs, x, m, training=True)
    assert_close(want, got, atol=1e-4)
    no_dropout = gradients(ours, x, m, training=False)
    assert np.abs(np.asarray(got[0]) - np.asarray(no_dropout[0])).max() > 1e-3


def test_dropout_only_when_training(rng):
    plain = gru_keras.GRU(UNITS, return_sequences=True)
    dropped = gru_keras.GRU(UNITS, return_sequences=True, dropout=0.5,
                            recurrent_dropout=0.5)
    x = inputs(rng)
    plain(x)
    dropped(x)
    dropped.set_weights(plain.get_weights())
    assert_close(plain(x), dropped(x, training=False), atol=1e-6)
    first, second = dropped(x, training=True), dropped(x, training=True)
    assert np.abs(np.asarray(first) - np.asarray(second)).max() > 1e-3, \
        "each training call draws new masks"


def test_custom_activations_match(rng):
    theirs, ours = twins(rng, activation="relu", recurrent_activation="hard_sigmoid",
                         return_sequences=True)
    x = inputs(rng)
    assert_close(gradients(theirs, x, None), gradients(ours, x, None), atol=1e-4)


def test_unroll_falls_back_with_same_results_and_says_so(rng, caplog):
    theirs, ours = twins(rng, unroll=True, return_sequences=True)
    x = inputs(rng)
    with caplog.at_level("WARNING", logger="gru_keras"):
        assert_close(theirs(x), ours(x), atol=1e-5)
        ours(x)
    messages = [r.getMessage() for r in caplog.records if "unroll=True" in r.getMessage()]
    assert len(messages) == 1, messages


@pytest.mark.parametrize("reset_after", [True, False])
def test_long_and_dynamic_sequences_match(rng, reset_after):
    """Sequences past the unrolling limit, and a time dimension unknown when
    tracing, take the compiled while loop: same results."""
    theirs, ours = twins(rng, reset_after=reset_after, return_sequences=True)
    x = rng.normal(size=(2, 140, FEATURES)).astype("float32")
    m = np.ones((2, 140), bool)
    m[1, 100:] = False
    assert_close(gradients(theirs, x, m), gradients(ours, x, m), atol=1e-4)

    spec = tf.TensorSpec((None, None, FEATURES), tf.float32)
    dynamic = [tf.function(lambda v, layer=layer: layer(v), input_signature=[spec])
               for layer in (theirs, ours)]
    short = inputs(rng)
    assert_close(dynamic[0](short), dynamic[1](short), atol=1e-5)
