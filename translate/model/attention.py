"""Attention over the encoder outputs that respects the source padding mask."""

import keras
import tensorflow as tf
from keras import ops

import gru_keras
from gru_keras.compile import compiled


def _scores_forward(query, keys, v):
    return tf.einsum("btsa,a->bts", tf.tanh(query[:, :, None] + keys[:, None]), v)


def _scores_unfused(query, keys, v):
    # Without XLA, one MatMul instead of oneDNN's einsum with a vector
    # (0.08-0.10 ms a decoding step in an op trace); the whole search
    # measured the same within noise (README).
    return tf.tensordot(tf.tanh(query[:, :, None] + keys[:, None]), v, 1)


def _scores_backward(query, keys, v, upstream):
    # tanh is recomputed rather than kept: the (batch, target, source, units)
    # tensor is the largest of the model, and XLA fuses the recomputation.
    t = tf.tanh(query[:, :, None] + keys[:, None])
    g = upstream[..., None] * v * (1.0 - t * t)
    return (tf.reduce_sum(g, axis=2), tf.reduce_sum(g, axis=1),
            tf.einsum("bts,btsa->a", upstream, t))


def additive_scores(query, keys, v):
    """`sum_a v_a tanh(query_ta + keys_sa)`: the additive attention's scores.

    Forward and backward passes are each one fused XLA computation where
    `gru_keras.xla_policy()` allows it ("auto" or `True`): unfused, the
    broadcast sum, tanh, product and reduction each make a pass over a
    `(batch, target_len, source_len, units)` tensor, which made this the
    model's third most costly part in training on a CPU.

    Args:
        query: `(batch, target_len, units)` projected decoder outputs.
        keys: `(batch, source_len, units)` projected encoder outputs.
        v: `(units,)` the scoring vector.

    Returns:
        `(batch, target_len, source_len)` scores.
    """
    xla = gru_keras.xla_policy() is not False
    forward = compiled(_scores_forward if xla else _scores_unfused, xla)
    backward = compiled(_scores_backward, xla)

    @tf.custom_gradient
    def scores(query, keys, v):
        def grad(upstream):
            return backward(query, keys, v, upstream)
        return forward(query, keys, v), grad
    return scores(query, keys, ops.cast(v, query.dtype))


@keras.saving.register_keras_serializable(package="translate")
class Attention(keras.layers.Layer):
    """Additive (Bahdanau) or multiplicative (Luong "general") attention.

    Scores each encoder output (the memory) against each decoder output (the
    query); padded source positions get no weight.

    Args:
        units: size of the additive scorer's hidden layer (additive only).
        kind: "additive" (`v . tanh(W q + U m)`) or "multiplicative"
            (`q . W m`).
        **kwargs: base layer arguments.

    Call arguments:
        query: `(batch, target_len, query_dim)` decoder outputs.
        memory: `(batch, source_len, memory_dim)` encoder outputs.
        memory_mask: boolean `(batch, source_len)`, true for real tokens.

        with_log_weights: also return the weights' logarithms (see `attend`).

    Returns:
        `(context, weights)`: `(batch, target_len, memory_dim)` and
        `(batch, target_len, source_len)`; each row of weights sums to one
        over the real source tokens. With `with_log_weights`, a third
        element: their float32 logarithms.
    """

    KINDS = ("additive", "multiplicative")

    def __init__(self, units, kind="additive", **kwargs):
        super().__init__(**kwargs)
        if kind not in self.KINDS:
            raise ValueError(f"attention kind must be one of {self.KINDS}, got {kind!r}.")
        self.units = units
        self.kind = kind
        self.supports_masking = True  # the source mask is an explicit input

    def compute_mask(self, *args, **kwargs):
        return None

    def build(self, query_shape, memory_shape, memory_mask_shape=None):
        memory_dim = memory_shape[-1]
        if self.kind == "additive":
            self.query_dense = keras.layers.Dense(self.units, use_bias=False, name="query")
            self.memory_dense = keras.layers.Dense(self.units, use_bias=False, name="memory")
            self.query_dense.build(query_shape)
            self.memory_dense.build(memory_shape)
            self.v = self.add_weight(shape=(self.units,), name="v",
                                     initializer="glorot_uniform")
        else:
            self.memory_dense = keras.layers.Dense(query_shape[-1], use_bias=False,
                                                   name="memory")
            self.memory_dense.build(memory_shape)
        self.memory_dim = memory_dim

    def keys(self, memory):
        """The memory's projection, computed once per sentence (decoding)."""
        return self.memory_dense(memory)

    def attend(self, query, keys, memory, memory_mask, with_log_weights=False):
        """Attention with precomputed `keys` (see `keys`).

        With `with_log_weights`, also returns the weights' float32 logarithms
        (finite, about -1e9, at padding), for a copying model's scores.
        """
        if self.kind == "additive":
            scores = additive_scores(self.query_dense(query), keys, self.v)
        else:
            scores = ops.einsum("btd,bsd->bts", query, keys)
        scores = ops.cast(scores, "float32")  # softmax in float32 (mixed precision)
        mask = ops.cast(memory_mask, "bool")[:, None, :]
        scores = ops.where(mask, scores, ops.full_like(scores, -1e9))
        weights = ops.softmax(scores, axis=-1)
        context = ops.einsum("bts,bsd->btd", ops.cast(weights, memory.dtype), memory)
        if with_log_weights:
            return context, ops.cast(weights, memory.dtype), ops.log_softmax(scores, axis=-1)
        return context, ops.cast(weights, memory.dtype)

    def call(self, query, memory, memory_mask, with_log_weights=False):
        return self.attend(query, self.keys(memory), memory, memory_mask, with_log_weights)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "kind": self.kind}
