"""The GRU encoder-decoder with attention, built from `gru_keras.GRU` only."""

import contextlib
import math

import keras
import tensorflow as tf
from keras import ops

import gru_keras
from translate.config import INFERENCE_PRECISIONS
from translate.model.attention import Attention
from translate.tokenizer import SPECIAL_IDS

PAD = SPECIAL_IDS["pad"]


@keras.saving.register_keras_serializable(package="translate")
class Seq2Seq(keras.Model):
    """Encoder-decoder translation model.

    - Embeddings (separate, or one shared table for a joint vocabulary),
      optionally tied with the output projection.
    - Encoder: `encoder_layers` `gru_keras.GRU` layers, bidirectional by
      default, over the embedded source (padding masked).
    - Decoder: `decoder_layers` `gru_keras.GRU` layers starting from a state
      bridged from the mean encoder output; attention (additive by default,
      multiplicative as an option) of each decoder output over the encoder
      outputs, respecting the source padding; `tanh(W [output, context])`
      then the vocabulary projection. Without input feeding, teacher forcing
      runs every decoder layer over the whole target at once (the GRU's fast
      path); decoding runs the same layers' cells one step at a time.

    Args:
        source_vocab, target_vocab: vocabulary sizes.
        embedding_dim: embedding size.
        units: encoder GRU units (each direction).
        decoder_units: decoder GRU units, also the attention's and the output
            layer's size; `None` or 0: `units`.
        encoder_layers, decoder_layers: numbers of GRU layers.
        bidirectional: bidirectional encoder layers.
        attention: "additive" or "multiplicative".
        dropout: dropout on embeddings, between layers and before the
            output projection, and the GRUs' input dropout.
        share_embeddings: one embedding table for source and target (needs
            equal vocabularies).
        tie_output: the output projection is the target embedding's
            transpose (needs `units == embedding_dim`).
        copy: a pointer-generator's copying (See et al., ACL 2017) for one
            joint vocabulary: besides the vocabulary's logits, each source
            position gets the score `log(attention weight) + gate`, the gate
            learnt from the decoder output and context, all in one softmax; a
            word's probability is its vocabulary entry's plus that of the
            source positions holding it. Names, options and numbers that
            the vocabulary splits into rare pieces are then copied whole.
        **kwargs: base model arguments.

    Call arguments:
        inputs: `{"source": (batch, source_len), "target_in": (batch,
            target_len)}` int token ids, padded with 0.
        training: dropout on or off.

    Returns:
        float32 logits `(batch, target_len, target_vocab)`; with `copy`,
        `(batch, target_len, target_vocab + source_len)` scores (the
        logits, then the source positions'), which `compute_loss` pairs
        with the source ids. Inside `fit`'s and `evaluate`'s steps only, the
        scores of the real (non-pad) target positions, `(tokens, ...)` in
        row-major order; the loss and metric read both shapes.
    """

    def __init__(self, source_vocab, target_vocab, embedding_dim=256, units=256,
                 decoder_units=None, encoder_layers=1, decoder_layers=1, bidirectional=True,
                 attention="additive", dropout=0.2, share_embeddings=False,
                 tie_output=False, copy=False, **kwargs):
        super().__init__(**kwargs)
        self._pack_scores = False  # set while `train_step` or `test_step` is traced
        self._bfloat16_kernel = None  # see `set_inference_precision`
        if copy and source_vocab != target_vocab:
            raise ValueError(
                "copy needs one joint vocabulary; got source_vocab="
                f"{source_vocab} and target_vocab={target_vocab}.")
        if share_embeddings and source_vocab != target_vocab:
            raise ValueError(
                "share_embeddings needs one vocabulary; got source_vocab="
                f"{source_vocab} and target_vocab={target_vocab}.")
        decoder_units = decoder_units or units
        if tie_output and decoder_units != embedding_dim:
            raise ValueError(
                f"tie_output needs decoder_units == embedding_dim; got decoder_units="
                f"{decoder_units}, embedding_dim={embedding_dim}.")
        self.settings = dict(
            source_vocab=source_vocab, target_vocab=target_vocab,
            embedding_dim=embedding_dim, units=units, decoder_units=decoder_units,
            encoder_layers=encoder_layers, decoder_layers=decoder_layers,
            bidirectional=bidirectional, attention=attention, dropout=dropout,
            share_embeddings=share_embeddings, tie_output=tie_output, copy=copy)
        self.source_embedding = keras.layers.Embedding(
            source_vocab, embedding_dim, name="source_embedding")
        self.target_embedding = (self.source_embedding if share_embeddings else
                                 keras.layers.Embedding(target_vocab, embedding_dim,
                                                        name="target_embedding"))
        # Layers are attributes, not list items: tf.train.Checkpoint follows
        # attributes of Keras 3 models but not the lists Keras tracks.
        for i in range(encoder_layers):
            layer = gru_keras.GRU(units, return_sequences=True, dropout=dropout,
                                  name=f"encoder_{i}")
            if bidirectional:
                layer = keras.layers.Bidirectional(layer, name=f"encoder_{i}_bi")
            setattr(self, f"encoder_{i}", layer)
        self.bridge = keras.layers.Dense(decoder_units, activation="tanh", name="bridge")
        for i in range(decoder_layers):
            setattr(self, f"decoder_{i}", gru_keras.GRU(
                decoder_units, return_sequences=True, dropout=dropout,
                name=f"decoder_{i}"))
        self.attention = Attention(decoder_units, attention, name="attention")
        self.combine = keras.layers.Dense(decoder_units, activation="tanh", name="combine")
        self.dropout = keras.layers.Dropout(dropout)
        self.projection = (None if tie_output else
                           keras.layers.Dense(target_vocab, name="projection"))
        if copy:
            # Starts copying and generating about even: the logits' initial
            # logsumexp is about log(vocabulary).
            self.copy_gate = keras.layers.Dense(
                1, name="copy_gate",
                bias_initializer=keras.initializers.Constant(math.log(target_vocab)))

    @property
    def encoder(self):
        """The encoder layers, first to last."""
        return [getattr(self, f"encoder_{i}")
                for i in range(self.settings["encoder_layers"])]

    @property
    def decoder(self):
        """The decoder GRU layers, first to last."""
        return [getattr(self, f"decoder_{i}")
                for i in range(self.settings["decoder_layers"])]

    # -- encoder ---------------------------------------------------------
    def encode(self, source, training=False):
        """Encodes a batch of source ids.

        Args:
            source: `(batch, source_len)` int ids, padded with 0.
            training: dropout on or off.

        Returns:
            `(memory, memory_mask, states)`: encoder outputs
            `(batch, source_len, units * directions)`, the boolean source mask,
            and one initial `(batch, decoder_units)` state per decoder layer.
        """
        mask = ops.not_equal(source, PAD)
        x = self.dropout(self.source_embedding(source), training=training)
        for layer in self.encoder:
            x = layer(x, mask=mask, training=training)
        weights = ops.cast(mask, x.dtype)[:, :, None]
        mean = ops.sum(x * weights, axis=1) / ops.maximum(ops.sum(weights, axis=1), 1.0)
        state = self.bridge(mean)
        return x, mask, [state] * len(self.decoder)

    # -- decoder ---------------------------------------------------------
    def _scores(self, features, log_weights, training, output=None):
        """`(logits, copy_scores)` of `features` (decoder outputs and their
        contexts, concatenated): the vocabulary's float32 logits (only the
        columns of `output`, an `output_projection`, when given), and with
        `copy` the source positions' scores (else `None`)."""
        hidden = self.dropout(self.combine(features), training=training)
        if output is None and self._bfloat16_kernel is not None and not training:
            output = self.output_projection()
        if output is not None:
            kernel, bias = output
            if self._bfloat16_kernel is not None:
                # The bias is added in float32: one rounding to bfloat16 fewer.
                logits = ops.cast(ops.matmul(ops.cast(hidden, "bfloat16"), kernel), "float32")
                if bias is not None:
                    logits = logits + bias
            else:  # on some columns, as the Dense projection or the tied product below
                logits = ops.matmul(hidden, ops.cast(kernel, hidden.dtype))
                if bias is not None:
                    logits = logits + ops.cast(bias, hidden.dtype)
        elif self.projection is None:
            logits = ops.matmul(hidden, ops.transpose(
                ops.cast(self.target_embedding.embeddings, hidden.dtype)))
        else:
            logits = self.projection(hidden)
        logits = ops.cast(logits, "float32")
        if not self.settings["copy"]:
            return logits, None
        return logits, log_weights + ops.cast(self.copy_gate(features), "float32")

    def set_inference_precision(self, precision):
        """The precision of the output projection outside training.

        The projection to the vocabulary is most of a batched search step.
        "bfloat16" computes its product as `mixed_bfloat16` training does
        (bfloat16 operands and result; the bias is then added in float32,
        one rounding fewer than training's) from a bfloat16 copy of its
        kernel made now, so after
        the weights are loaded (set it again if they change): faster on a
        CPU that multiplies bfloat16 natively (AVX512-BF16, AMX), slower on
        one that does not. "float32", the default: the float32 product.

        Args:
            precision: "float32" or "bfloat16".

        Raises:
            ValueError: another precision.
        """
        if precision not in INFERENCE_PRECISIONS:
            raise ValueError(f"precision must be one of {INFERENCE_PRECISIONS}, "
                             f"got {precision!r}.")
        self._bfloat16_kernel = None
        if precision == "bfloat16":
            kernel = (ops.transpose(self.target_embedding.embeddings)
                      if self.projection is None else self.projection.kernel)
            self._bfloat16_kernel = tf.Variable(tf.cast(kernel, tf.bfloat16), trainable=False,
                                                name="bfloat16_projection_kernel")

    def output_projection(self, columns=None):
        """The output projection's kernel and bias in the inference precision,
        at `columns` only when given: for `decode_step`'s `output`, a search's
        shortlist (`translate.shortlist`), gathered once per search.

        Args:
            columns: None (every column), or int32 `(C,)` target ids.

        Returns:
            `(kernel, bias)`: `(units, C)` and `(C,)` (None for tied output
            embeddings, which have no bias).
        """
        if self._bfloat16_kernel is not None:
            kernel = self._bfloat16_kernel
        elif self.projection is None:
            kernel = ops.transpose(self.target_embedding.embeddings)
        else:
            kernel = self.projection.kernel
        bias = None if self.projection is None else self.projection.bias
        if columns is None:
            return kernel, bias
        return (tf.gather(kernel, columns, axis=1),
                None if bias is None else tf.gather(bias, columns))

    @property
    def inference_precision(self):
        """"float32" or "bfloat16" (see `set_inference_precision`)."""
        return "float32" if self._bfloat16_kernel is None else "bfloat16"

    @property
    def inference_variables(self):
        """The variables inference reads besides the model's weights (a
        SavedModel must track them): the bfloat16 kernel, if any."""
        return [] if self._bfloat16_kernel is None else [self._bfloat16_kernel]

    def call(self, inputs, training=False):
        source, target_in = inputs["source"], inputs["target_in"]
        memory, memory_mask, states = self.encode(source, training=training)
        target_mask = ops.not_equal(target_in, PAD)
        x = self.dropout(self.target_embedding(target_in), training=training)
        for layer, state in zip(self.decoder, states):
            x = layer(x, initial_state=state, mask=target_mask, training=training)
        copy = self.settings["copy"]
        context, _, *log_weights = self.attention(x, memory, memory_mask,
                                                  with_log_weights=copy)
        features = ops.concatenate([x, context], axis=-1)
        log_weights = log_weights[0] if copy else None
        if self._pack_scores:
            # The real positions only: a quarter of a batch's positions are
            # padding, and the projection and its loss are half of a step.
            real = tf.where(target_mask)
            features = tf.gather_nd(features, real)
            log_weights = None if log_weights is None else tf.gather_nd(log_weights, real)
        logits, copy_scores = self._scores(features, log_weights, training)
        return logits if not copy else ops.concatenate([logits, copy_scores], axis=-1)

    @contextlib.contextmanager
    def _packed_scores(self):
        """While Keras's steps are traced: the model's scores packed to the
        real target positions (see `call`); the loss and metrics need no
        others."""
        self._pack_scores = True
        try:
            yield
        finally:
            self._pack_scores = False

    def train_step(self, data):
        with self._packed_scores():
            return super().train_step(data)

    def test_step(self, data):
        with self._packed_scores():
            return super().test_step(data)

    def _with_source(self, x, y):
        """With `copy`, the labels packed with the source ids (see
        `translate.losses.split_targets`)."""
        if not self.settings["copy"] or y is None:
            return y
        source = ops.cast(x["source"], y.dtype)
        shape = ops.shape(y) + ops.shape(source)[1:]
        return ops.concatenate(
            [y[..., None], ops.broadcast_to(source[:, None, :], shape)], axis=-1)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        return super().compute_loss(x, self._with_source(x, y), y_pred, sample_weight,
                                    training)

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        return super().compute_metrics(x, self._with_source(x, y), y_pred, sample_weight)

    def attention_keys(self, memory):
        """The attention's projection of the memory (once per sentence)."""
        return self.attention.keys(memory)

    def decode_step(self, tokens, states, keys, memory, memory_mask, source=None, group=1,
                    output=None):
        """One decoding step for a batch (no dropout).

        Args:
            tokens: `(rows,)` the previous target tokens (BOS first).
            states: one `(rows, decoder_units)` state per decoder layer.
            keys: `attention_keys(memory)`.
            memory, memory_mask: from `encode`, one entry per `group` rows.
            source: `(rows / group, source_len)` the source ids (needed
                with `copy`).
            group: consecutive rows that read the same sentence (a beam
                search's hypotheses): its memory is read once for all of
                them, in one product, not once per row from a copy.
            output: None, or an `output_projection`: the logits of its
                columns only, `source` then holding each source piece's
                column (the copied words' index in the logits).

        Returns:
            `(logits, states, weights)`: float32 `(rows, target_vocab)`
            logits (`(rows, C)` with `output`; with `copy`, copying
            included: see `word_logits`), the
            new states, and the attention weights `(rows, source_len)`.
        """
        x = self.target_embedding(tokens)
        new_states = []
        for layer, state in zip(self.decoder, states):
            x, _ = layer.cell(x, [state], training=False)
            new_states.append(x)
        copy = self.settings["copy"]
        context, weights, *log_weights = self.attention.attend(
            tf.reshape(x, [-1, group, x.shape[-1]]), keys, memory, memory_mask,
            with_log_weights=copy)
        rows = tf.shape(x)[0]

        def by_row(t):
            """`(sentences, group, n)` -> `(rows, n)`."""
            return tf.reshape(t, [rows, t.shape[-1] or -1])
        logits, copy_scores = self._scores(
            ops.concatenate([x, by_row(context)], axis=-1),
            by_row(log_weights[0]) if copy else None, training=False, output=output)
        if copy:
            if source is None:
                raise ValueError("a copying model's decode_step needs the source ids.")
            logits = word_logits(logits, copy_scores, source, group)
        return logits, new_states, by_row(weights)

    def get_config(self):
        return {**super().get_config(), **self.settings}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def word_logits(logits, copy_scores, source, group=1):
    """A copying model's step scores folded into one logit per word.

    Softmax over the result is the word distribution: a word's probability
    is its vocabulary entry's plus that of the source positions holding it,
    all under the one softmax of the logits and the copy scores. Only the
    words in the source change, so only those `(batch, source_len)` logits
    are rewritten, to `logaddexp(logit, logsumexp(their copy scores))`; no
    normalisation here (the search normalises once).

    Args:
        logits: float32 `(rows, vocab)`.
        copy_scores: float32 `(rows, source_len)`, the source positions'.
        source: int `(rows / group, source_len)` the ids those positions
            hold, one sentence per `group` consecutive rows.
        group: rows per sentence.

    Returns:
        float32 `(rows, vocab)` logits.
    """
    source = tf.cast(source, tf.int32)
    # For each position, the copy score of its word: the logsumexp of the
    # positions holding the same id, as one (batch, source_len, source_len)
    # product with the exponentials of the source_len scores (an
    # exponential of every pair was a tenth of a search step).
    same = tf.cast(tf.equal(source[:, :, None], source[:, None, :]), copy_scores.dtype)
    top_copy = tf.reduce_max(copy_scores, axis=-1, keepdims=True)
    width = tf.shape(source)[1]
    mass = tf.matmul(tf.reshape(tf.exp(copy_scores - top_copy), [-1, group, width]), same)
    copied = tf.math.log(tf.reshape(mass, tf.shape(copy_scores))) + top_copy
    source = tf.repeat(source, group, axis=0)
    at_source = tf.gather(logits, source, batch_dims=1)
    top = tf.maximum(at_source, copied)
    merged = top + tf.math.log(tf.exp(at_source - top) + tf.exp(copied - top))
    rows = tf.broadcast_to(tf.range(tf.shape(source)[0])[:, None], tf.shape(source))
    # Positions holding the same word write the same value.
    return tf.tensor_scatter_nd_update(logits, tf.stack([rows, source], -1), merged)


def build_model(model_config, source_vocab, target_vocab):
    """A built `Seq2Seq` from the config's `model` section."""
    settings = dict(model_config)
    if source_vocab != target_vocab:
        settings["share_embeddings"] = False
    model = Seq2Seq(source_vocab, target_vocab, **settings)
    probe = ops.convert_to_tensor([[3, PAD]], "int32")
    model({"source": probe, "target_in": probe})
    return model
