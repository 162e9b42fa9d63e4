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


def assert_same_loss_and_gradient(ours, plain, x):
    """Our loss and the plain formula agree in value and gradient wrt `x`;
    returns our gradient."""
    values = []
    for fn in (ours, plain):
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = fn()
        values.append((loss.numpy(), tape.gradient(loss, x).numpy()))
    np.testing.assert_allclose(values[0][0], values[1][0], rtol=1e-6)
    np.testing.assert_allclose(values[0][1], values[1][1], atol=1e-7)
    return values[0][1]


@pytest.mark.parametrize("eps", [0.0, 0.1, 0.3])
def test_loss_and_gradient_equal_the_formula(eps):
    logits = tf.constant(np.random.default_rng(0).normal(size=(2, 4, 11)) * 3, tf.float32)
    gradient = assert_same_loss_and_gradient(
        lambda: MaskedCrossEntropy(eps)(LABELS, logits), lambda: formula(LABELS, logits, eps),
        logits)
    assert np.all(gradient[LABELS.numpy() == 0] == 0)  # padding adds nothing


def test_padding_positions_do_not_count():
    logits = tf.constant(np.random.default_rng(1).normal(size=(2, 4, 11)), tf.float32)
    changed = tf.where(tf.cast(LABELS == 0, tf.bool)[..., None], logits * 100.0, logits)
    loss = MaskedCrossEntropy(0.1)
    assert float(loss(LABELS, logits)) == pytest.approx(float(loss(LABELS, changed)))
    assert float(masked_accuracy(LABELS, logits)) == float(masked_accuracy(LABELS, changed))


def test_config_round_trip():
    loss = MaskedCrossEntropy(0.2)
    assert MaskedCrossEntropy.from_config(loss.get_config()).label_smoothing == 0.2


# -- copying: the vocabulary's logits, then one score per source position ----
SOURCE = tf.constant([[6, 9, 6, 3, 0], [7, 8, 3, 0, 0]], tf.int32)


def copy_formula(labels, scores, source, eps):
    """A copying model's loss written plainly: a word's probability is its
    vocabulary entry's plus that of each source position holding it."""
    vocab = scores.shape[-1] - source.shape[-1]
    p = tf.nn.softmax(scores)
    holds = tf.cast(source[:, None, :] == labels[..., None], tf.float32)
    p_label = tf.gather(p[..., :vocab], labels, batch_dims=2) + tf.reduce_sum(
        p[..., vocab:] * holds, -1)
    per_token = (-(1 - eps) * tf.math.log(p_label)
                 - eps * tf.reduce_mean(tf.math.log(p[..., :vocab]), -1))
    mask = tf.cast(labels != 0, tf.float32)
    return tf.reduce_sum(per_token * mask) / tf.reduce_sum(mask)


def packed(labels, source):
    """Labels with the source ids, as `Seq2Seq(copy=True)` hands them over."""
    shape = tf.concat([tf.shape(labels), tf.shape(source)[1:]], 0)
    return tf.concat([labels[..., None], tf.broadcast_to(source[:, None], shape)], -1)


@pytest.mark.parametrize("eps", [0.0, 0.1])
def test_copying_loss_and_gradient_equal_the_formula(eps):
    scores = tf.constant(np.random.default_rng(2).normal(size=(2, 4, 11 + 5)) * 3, tf.float32)
    # Padded source positions get the model's ~-1e9 (no weight).
    scores = tf.where(tf.concat([tf.ones([2, 4, 11], bool),
                                 tf.broadcast_to((SOURCE != 0)[:, None], [2, 4, 5])], -1),
                      scores, -1e9)
    assert_same_loss_and_gradient(
        lambda: MaskedCrossEntropy(eps)(packed(LABELS, SOURCE), scores),
        lambda: copy_formula(LABELS, scores, SOURCE, eps), scores)


def test_copying_accuracy_counts_a_copied_label():
    # Sentence 0 token 0: label 5 from the vocabulary; token 1: label 6 from
    # source position 2; sentence 1 token 0: label 7, but position 1 (8) wins.
    scores = np.zeros((2, 4, 11 + 5), "float32")
    scores[0, 0, 5] = scores[0, 1, 11 + 2] = scores[1, 0, 11 + 1] = 9.0
    labels = tf.constant([[5, 6, 0, 0], [7, 0, 0, 0]], tf.int32)
    accuracy = masked_accuracy(packed(labels, SOURCE), tf.constant(scores))
    assert float(accuracy) == pytest.approx(2 / 3)
