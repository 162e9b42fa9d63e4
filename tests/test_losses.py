"""The training loss: label-smoothed cross-entropy over real tokens, its
hand-written gradient equal to automatic differentiation of the formula."""

import numpy as np
import pytest
import tensorflow as tf

from translate.losses import MaskedCrossEntropy, masked_accuracy

LABELS = tf.constant([[5, 6, 3, 0], [7, 3, 0, 0]], tf.int32)


def formula(labels, logits, eps):
    """The loss written plainly: cross-entropy with the smoothed target."""
    vocab = logits.shape[-1]
    target = (1 - eps) * tf.one_hot(labels, vocab) + eps / vocab
    per_token = -tf.reduce_sum(target * tf.nn.log_softmax(logits), -1)
    mask = tf.cast(labels != 0, tf.float32)
    return tf.reduce_sum(per_token * mask) / tf.reduce_sum(mask)


@pytest.mark.parametrize("eps", [0.0, 0.1, 0.3])
def test_loss_and_gradient_equal_the_formula(eps):
    logits = tf.constant(np.random.default_rng(0).normal(size=(2, 4, 11)) * 3, tf.float32)
    values = []
    for fn in (lambda: MaskedCrossEntropy(eps)(LABELS, logits), lambda: formula(LABELS, logits, eps)):
        with tf.GradientTape() as tape:
            tape.watch(logits)
            loss = fn()
        values.append((loss.numpy(), tape.gradient(loss, logits).numpy()))
    np.testing.assert_allclose(values[0][0], values[1][0], rtol=1e-6)
    np.testing.assert_allclose(values[0][1], values[1][1], atol=1e-7)
    assert np.all(values[0][1][LABELS.numpy() == 0] == 0)  # padding adds nothing


def test_padding_positions_do_not_count():
    logits = tf.constant(np.random.default_rng(1).normal(size=(2, 4, 11)), tf.float32)
    changed = tf.where(tf.cast(LABELS == 0, tf.bool)[..., None], logits * 100.0, logits)
    loss = MaskedCrossEntropy(0.1)
    assert float(loss(LABELS, logits)) == pytest.approx(float(loss(LABELS, changed)))
    assert float(masked_accuracy(LABELS, logits)) == float(masked_accuracy(LABELS, changed))


def test_config_round_trip():
    loss = MaskedCrossEntropy(0.2)
    assert MaskedCrossEntropy.from_config(loss.get_config()).label_smoothing == 0.2
