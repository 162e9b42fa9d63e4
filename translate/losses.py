"""The training loss and metric over padded target tokens."""

import keras
import tensorflow as tf

from translate.tokenizer import SPECIAL_IDS

PAD = SPECIAL_IDS["pad"]


def split_targets(y_true, y_pred=None):
    """`(labels, copy_ids)` from the targets Keras hands a loss or metric.

    A copying model (`Seq2Seq(copy=True)`) packs each token's label with the
    sentence's source ids, `(batch, length, 1 + source_len)`, so that the
    loss knows which source positions hold the label; otherwise the targets
    are the labels, `(batch, length)`, and `copy_ids` is `None`.

    With `y_pred` of rank 2, the model's scores of the real target positions
    only (`Seq2Seq.train_step`), the labels (and copy ids) are packed the
    same way: `(tokens,)` and `(tokens, source_len)`, no PAD among them.
    """
    y_true = tf.cast(y_true, tf.int32)
    labels, copy_ids = (y_true[..., 0], y_true[..., 1:]) if y_true.shape.rank == 3 else (
        y_true, None)
    if y_pred is not None and y_pred.shape.rank == 2:
        real = tf.not_equal(labels, PAD)
        labels = tf.boolean_mask(labels, real)
        copy_ids = None if copy_ids is None else tf.boolean_mask(copy_ids, real)
    return labels, copy_ids


def smoothed_cross_entropy(labels, scores, label_smoothing, copy_ids=None):
    """Per-token cross-entropy against label-smoothed targets.

    Without copying, `scores` are logits over the vocabulary; the target
    distribution puts `1 - e` on the label and spreads `e` evenly over the
    vocabulary, so the loss is `logsumexp(scores) - (1 - e) * scores[label]
    - e * mean(scores)`.

    With copying, `scores` hold the vocabulary's logits followed by one score
    per source position (`Seq2Seq(copy=True)`): one softmax over both, where
    a word's probability is its vocabulary entry's plus that of every source
    position holding it. The `1 - e` then goes to that set of events `M`,
    `loss = logsumexp(scores) - (1 - e) * logsumexp(scores[M]) - e *
    mean(vocabulary scores)`.

    The gradient, `softmax(scores)` minus the target distribution (over `M`,
    each event's share of `M`'s probability), is written out: automatic
    differentiation of the log-softmax makes several passes over the
    `(batch, length, vocabulary)` logits, the largest tensor of a step.

    Args:
        labels: int `(batch, length)` target ids (or any leading shape:
            `(tokens,)` for packed scores).
        scores: float `(batch, length, vocabulary [+ source_len])`.
        label_smoothing: `e` in [0, 1).
        copy_ids: int `(batch, length, source_len)`, the source ids each
            copy score stands for (PAD: none); `None` without copying.

    Returns:
        float32 `(batch, length)` losses (the labels' shape).
    """
    scores = tf.cast(scores, tf.float32)
    labels = tf.cast(labels, tf.int32)
    eps = label_smoothing
    copying = copy_ids is not None
    if copying:
        copy_ids = tf.cast(copy_ids, tf.int32)
        # The source positions that hold the label.
        matches = tf.equal(copy_ids, labels[..., None]) & tf.not_equal(copy_ids, PAD)

    @tf.custom_gradient
    def per_token(scores):
        vocab = tf.shape(scores)[-1] - (tf.shape(copy_ids)[-1] if copying else 0)
        lse = tf.reduce_logsumexp(scores, axis=-1, keepdims=True)
        label_score = tf.gather(scores, labels, batch_dims=labels.shape.rank)
        vocab_scores = scores[..., :vocab] if copying else scores
        if copying:
            copy_scores = tf.where(matches, scores[..., vocab:], -1e30)
            target = tf.reduce_logsumexp(
                tf.concat([label_score[..., None], copy_scores], -1), axis=-1)
        else:
            target = label_score
        loss = lse[..., 0] - (1.0 - eps) * target - eps * tf.reduce_mean(vocab_scores, -1)

        def grad(upstream):
            label = tf.one_hot(labels, tf.shape(scores)[-1], dtype=tf.float32)
            smoothing = eps / tf.cast(vocab, tf.float32)
            if copying:
                # The label's entry and the matching positions share 1 - e
                # by their probabilities; e goes to the vocabulary only.
                g = (tf.exp(scores - lse)
                     - (1.0 - eps) * label * tf.exp(label_score - target)[..., None]
                     - tf.concat([tf.fill(tf.shape(vocab_scores), smoothing),
                                  (1.0 - eps) * tf.exp(copy_scores - target[..., None])], -1))
            else:
                g = tf.exp(scores - lse) - (1.0 - eps) * label - smoothing
            return g * upstream[..., None]
        return loss, grad
    return per_token(scores)


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
        labels, copy_ids = split_targets(y_true, y_pred)
        loss = smoothed_cross_entropy(labels, y_pred, self.label_smoothing, copy_ids)
        mask = tf.cast(tf.not_equal(labels, PAD), tf.float32)
        loss = tf.reduce_sum(loss * mask) / tf.maximum(tf.reduce_sum(mask), 1.0)
        # Under a strategy the replicas' gradients are summed: Keras divides a
        # loss by the number of replicas when it reduces it itself, but not
        # one that comes reduced, as this one does.
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        return loss / replicas if replicas > 1 else loss

    def get_config(self):
        return {**super().get_config(), "label_smoothing": self.label_smoothing}


def masked_accuracy(y_true, y_pred):
    """Share of real (non-pad) target tokens predicted exactly.

    With copying, the prediction is the word of the most probable single
    event (a vocabulary entry or a source position), not of the most
    probable word summed over its events: exact for a word found in only
    one of them, and it spares a scatter over the vocabulary per step.
    """
    labels, copy_ids = split_targets(y_true, y_pred)
    mask = tf.cast(tf.not_equal(labels, PAD), tf.float32)
    predicted = tf.argmax(y_pred, -1, output_type=tf.int32)
    if copy_ids is not None:
        vocab = tf.shape(y_pred)[-1] - tf.shape(copy_ids)[-1]
        copied = tf.gather(copy_ids, tf.maximum(predicted - vocab, 0),
                           batch_dims=labels.shape.rank)
        predicted = tf.where(predicted < vocab, predicted, copied)
    hits = tf.cast(tf.equal(predicted, labels), tf.float32)
    return tf.reduce_sum(hits * mask) / tf.maximum(tf.reduce_sum(mask), 1.0)
