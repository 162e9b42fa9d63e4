"""The training loss and metric over padded target tokens."""

import keras
import tensorflow as tf

from translate.tokenizer import SPECIAL_IDS

PAD = SPECIAL_IDS["pad"]


def smoothed_cross_entropy(labels, logits, label_smoothing):
    """Per-token cross-entropy against label-smoothed targets.

    The target distribution puts `1 - label_smoothing` on the label and
    spreads `label_smoothing` evenly over the vocabulary, so the loss is
    `logsumexp(logits) - (1 - e) * logits[label] - e * mean(logits)`. Its
    gradient, `softmax(logits) - (1 - e) * onehot(label) - e / V`, is written
    out: automatic differentiation of the log-softmax makes several passes
    over the `(batch, length, vocabulary)` logits, the largest tensor of a
    training step.

    Args:
        labels: int `(batch, length)` target ids.
        logits: float `(batch, length, vocabulary)`.
        label_smoothing: `e` in [0, 1).

    Returns:
        float32 `(batch, length)` losses.
    """
    logits = tf.cast(logits, tf.float32)
    labels = tf.cast(labels, tf.int32)
    eps = label_smoothing

    @tf.custom_gradient
    def per_token(logits):
        lse = tf.reduce_logsumexp(logits, axis=-1, keepdims=True)
        label_logit = tf.gather(logits, labels, batch_dims=2)
        loss = lse[..., 0] - (1.0 - eps) * label_logit - eps * tf.reduce_mean(logits, -1)

        def grad(upstream):
            vocab = tf.shape(logits)[-1]
            g = (tf.exp(logits - lse) - eps / tf.cast(vocab, tf.float32)
                 - (1.0 - eps) * tf.one_hot(labels, vocab, dtype=tf.float32))
            return g * upstream[..., None]
        return loss, grad
    return per_token(logits)


@keras.saving.register_keras_serializable(package="translate")
class MaskedCrossEntropy(keras.losses.Loss):
    """Token cross-entropy with label smoothing, averaged over real tokens.

    Args:
        label_smoothing: the share of the target distribution spread over
            the vocabulary (see `smoothed_cross_entropy`).
        name, **kwargs: base loss arguments.
    """

    def __init__(self, label_smoothing=0.1, name="masked_cross_entropy", **kwargs):
        super().__init__(name=name, **kwargs)
        self.label_smoothing = label_smoothing

    def call(self, y_true, y_pred):
        loss = smoothed_cross_entropy(y_true, y_pred, self.label_smoothing)
        mask = tf.cast(tf.not_equal(tf.cast(y_true, tf.int32), PAD), tf.float32)
        loss = tf.reduce_sum(loss * mask) / tf.maximum(tf.reduce_sum(mask), 1.0)
        # Under a strategy the replicas' gradients are summed: Keras divides a
        # loss by the number of replicas when it reduces it itself, but not
        # one that comes reduced, as this one does.
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        return loss / replicas if replicas > 1 else loss

    def get_config(self):
        return {**super().get_config(), "label_smoothing": self.label_smoothing}


def masked_accuracy(y_true, y_pred):
    """Share of real (non-pad) target tokens predicted exactly."""
    labels = tf.cast(y_true, tf.int32)
    mask = tf.cast(tf.not_equal(labels, PAD), tf.float32)
    hits = tf.cast(tf.equal(tf.argmax(y_pred, -1, output_type=tf.int32), labels), tf.float32)
    return tf.reduce_sum(hits * mask) / tf.maximum(tf.reduce_sum(mask), 1.0)
