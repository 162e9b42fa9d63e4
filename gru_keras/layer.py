"""`GRU`: Keras's GRU layer with our cell and a compiled whole-sequence path."""

import logging

import keras
import tensorflow as tf
from keras.src import backend as keras_backend  # cudnn_ok: Keras's own rules

from gru_keras import ops, portable_graph
from gru_keras.compile import tracing_portable
from gru_keras.cell import GRUCell, split_bias
from gru_keras.validation import check_inputs

logger = logging.getLogger("gru_keras")
_reported = set()


def _log_once(message):
    if message not in _reported:
        _reported.add(message)
        logger.warning(message)


@keras.saving.register_keras_serializable(package="gru_keras")
class GRU(keras.layers.GRU):
    """Gated Recurrent Unit, a drop-in replacement for `keras.layers.GRU`.

    Same constructor, weights, outputs and behaviour as `keras.layers.GRU`
    (see its documentation for every argument), but faster:

    - On a GPU, Keras's cuDNN kernel whenever Keras itself would use it.
    - Otherwise one compiled pass: the inputs of all time steps are projected
      in one matmul, then a compiled loop does only the recurrent matmul and
      the fused gating (`gru_keras.ops.sequence`). This path also covers
      `dropout` and `recurrent_dropout` (masks fixed over time, as Keras
      defines them), which make Keras's GRU fall back to its slow per-step
      path.
    - Traced by a converter or exporter (`model.export`, the LiteRT
      converter, tf2onnx) or inside `gru_keras.portable()`: one while loop of
      plain ops that those read (`gru_keras.portable_graph`), the same
      results.
    - `unroll=True` (an explicit request for Keras's unrolled graph) runs the
      per-step `gru_keras.GRUCell` through Keras's RNN loop; the results are
      the same, and the log says so once.
    - Under a mixed precision policy the compiled pass keeps the recurrence
      (state, recurrent matmul, gates) in float32, the variables' dtype, and
      returns outputs and states in the compute dtype; Keras's GRU (and its
      cuDNN kernel) keeps the state in the 16-bit compute dtype.

    Args:
        units: Positive integer, dimensionality of the output space.
        activation, recurrent_activation, use_bias, kernel_initializer,
        recurrent_initializer, bias_initializer, kernel_regularizer,
        recurrent_regularizer, bias_regularizer, activity_regularizer,
        kernel_constraint, recurrent_constraint, bias_constraint, dropout,
        recurrent_dropout, seed, return_sequences, return_state, go_backwards,
        stateful, unroll, reset_after, use_cudnn: exactly as in
        `keras.layers.GRU`.
        **kwargs: base layer arguments (`name`, `dtype`, `trainable`, ...).

    Call arguments:
        inputs: A 3D float tensor `(batch, timesteps, features)`.
        mask: Boolean `(batch, timesteps)`; masked steps are skipped.
        training: Whether dropout applies.
        initial_state: Initial state tensor(s), `(batch, units)`.

    Returns:
        As `keras.layers.GRU`: the last output `(batch, units)` or all outputs
        `(batch, timesteps, units)`, followed by the final state when
        `return_state=True`.
    """

    def __init__(
        self,
        units,
        activation="tanh",
        recurrent_activation="sigmoid",
        use_bias=True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        kernel_regularizer=None,
        recurrent_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        kernel_constraint=None,
        recurrent_constraint=None,
        bias_constraint=None,
        dropout=0.0,
        recurrent_dropout=0.0,
        seed=None,
        return_sequences=False,
        return_state=False,
        go_backwards=False,
        stateful=False,
        unroll=False,
        reset_after=True,
        use_cudnn="auto",
        **kwargs,
    ):
        cell = GRUCell(
            units,
            activation=activation,
            recurrent_activation=recurrent_activation,
            use_bias=use_bias,
            kernel_initializer=kernel_initializer,
            recurrent_initializer=recurrent_initializer,
            bias_initializer=bias_initializer,
            kernel_regularizer=kernel_regularizer,
            recurrent_regularizer=recurrent_regularizer,
            bias_regularizer=bias_regularizer,
            kernel_constraint=kernel_constraint,
            recurrent_constraint=recurrent_constraint,
            bias_constraint=bias_constraint,
            dropout=dropout,
            recurrent_dropout=recurrent_dropout,
            reset_after=reset_after,
            dtype=kwargs.get("dtype", None),
            trainable=kwargs.get("trainable", True),
            name="gru_cell",
            seed=seed,
            implementation=kwargs.pop("implementation", 2),
        )
        # Skip keras.layers.GRU.__init__ (it would build a Keras cell); set
        # what it sets.
        keras.layers.RNN.__init__(
            self,
            cell,
            return_sequences=return_sequences,
            return_state=return_state,
            go_backwards=go_backwards,
            stateful=stateful,
            unroll=unroll,
            activity_regularizer=activity_regularizer,
            **kwargs,
        )
        self.input_spec = keras.layers.InputSpec(ndim=3)
        if use_cudnn not in ("auto", True, False):
            raise ValueError(
                "Invalid value for argument `use_cudnn`: expected one of "
                f"'auto', True, False; received use_cudnn={use_cudnn!r}.")
        self.use_cudnn = use_cudnn
        if self._cudnn_possible():
            self.supports_jit = False  # cuDNN ops are not XLA-compatible.

    def build(self, sequences_shape, initial_state_shape=None):
        check_inputs(self.cell, sequences_shape, rank=3)
        super().build(sequences_shape, initial_state_shape)

    def call(self, sequences, initial_state=None, mask=None, training=False):
        check_inputs(self.cell, sequences, rank=3)
        return super().call(sequences, initial_state=initial_state, mask=mask,
                            training=training)

    def _cudnn_possible(self):
        return self.use_cudnn in ("auto", True) and keras_backend.cudnn_ok(
            self.cell.activation, self.cell.recurrent_activation, self.unroll,
            self.cell.use_bias, reset_after=self.cell.reset_after)

    def inner_loop(self, sequences, initial_state, mask, training=False):
        if isinstance(initial_state, (list, tuple)):
            initial_state = initial_state[0]
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        # A converter's trace gets plain ops (gru_keras.portable): no cuDNN,
        # no compiled functions.
        convert = tracing_portable()
        if (not convert and self._cudnn_possible()
                and not self.recurrent_dropout):
            # Keras's own cuDNN path, under Keras's own eligibility rules (a
            # mask that is not right-padded fails there as it does in Keras).
            return super().inner_loop(sequences, initial_state, mask, training)
        if self.use_cudnn is True and not convert:
            raise ValueError(
                "use_cudnn=True was specified, but cuDNN is not supported for "
                "this layer configuration on this device. Pass "
                "use_cudnn='auto' to use the compiled non-cuDNN path.")
        if self.unroll:
            _log_once(
                f"gru_keras.GRU '{self.name}': unroll=True runs the per-step "
                "cell through Keras's unrolled loop instead of the compiled "
                "sequence path (same results, usually slower).")
            return keras.layers.RNN.inner_loop(
                self, sequences, initial_state, mask=mask, training=training)
        sequence = portable_graph.sequence if convert else ops.sequence
        return self._whole_sequence(sequence, sequences, initial_state, mask,
                                    training)

    def _whole_sequence(self, sequence, sequences, initial_state, mask,
                        training):
        """Runs `sequence` (`ops.sequence` or `portable_graph.sequence`) with the
        cell's weights and dropout masks, Keras's RNN `inner_loop` results."""
        cell = self.cell
        dtype = cell.compute_dtype
        # Under mixed precision the recurrence (state, recurrent matmul,
        # gates) stays in the variables' float32: in bfloat16 (8 significant
        # bits) an update smaller than 1/256 of the state is rounded away at
        # every step, so slow gates would stop the state from moving. The
        # input projection, one matmul over all steps, uses the compute dtype.
        state_dtype = cell.variable_dtype
        input_masks, recurrent_masks = cell.step_dropout_masks(
            sequences[:, 0, :], initial_state, training)
        input_bias, _ = split_bias(cell.weights_as(cell.bias, dtype), cell.reset_after)
        _, recurrent_bias = split_bias(
            cell.weights_as(cell.bias, state_dtype), cell.reset_after)
        if mask is not None:
            mask = tf.cast(mask, tf.bool)
        last_output, outputs, state = sequence(
            sequences,
            tf.cast(initial_state, state_dtype),
            cell.weights_as(cell.kernel, dtype),
            cell.weights_as(cell.recurrent_kernel, state_dtype),
            input_bias,
            recurrent_bias,
            mask,
            input_masks,
            recurrent_masks,
            reset_after=cell.reset_after,
            activation=cell.activation,
            recurrent_activation=cell.recurrent_activation,
            go_backwards=self.go_backwards,
            return_sequences=self.return_sequences,
            zero_output_for_mask=self.zero_output_for_mask,
        )
        return last_output, outputs, [state]
