"""`GRUCell`: Keras's GRU cell, with the gates computed by compiled code."""

import keras
import tensorflow as tf
from keras import ops as kops

from gru_keras import ops
from gru_keras.validation import check_inputs


def split_bias(bias, reset_after):
    """Returns `(input_bias, recurrent_bias)` from Keras's bias layout.

    Args:
        bias: `None`, `(3u,)` (reset_after=False) or `(2, 3u)`.
        reset_after: the cell's `reset_after`.

    Returns:
        Two tensors or `None`s.
    """
    if bias is None:
        return None, None
    if not reset_after:
        return bias, None
    return bias[0], bias[1]


@keras.saving.register_keras_serializable(package="gru_keras")
class GRUCell(keras.layers.GRUCell):
    """Cell class for `gru_keras.GRU`: a drop-in `keras.layers.GRUCell`.

    Same constructor arguments, same weights (`kernel` `(input_dim, 3*units)`,
    `recurrent_kernel` `(units, 3*units)`, `bias` `(3*units,)` or, with
    `reset_after=True`, `(2, 3*units)`; gate order z, r, h), same equations:

    ```
    z = recurrent_activation(x W_z + h U_z + b_z)
    r = recurrent_activation(x W_r + h U_r + b_r)
    reset_after=False: h' = activation(x W_h + (r * h) U_h + b_h)
    reset_after=True:  h' = activation(x W_h + b_h + r * (h U_h + b'_h))
    h_t = z * h + (1 - z) * h'
    ```

    The step runs as one compiled TensorFlow function (`gru_keras.ops`)
    instead of Keras's op-by-op cell. See `keras.layers.GRUCell` for the
    arguments.

    Call arguments:
        inputs: A 2D tensor, `(batch, features)`.
        states: A 2D tensor `(batch, units)`, or a list holding one.
        training: Whether dropout applies (only when `True`).
    """

    def build(self, input_shape):
        check_inputs(self, input_shape, rank=2)
        super().build(input_shape)

    def call(self, inputs, states, training=False):
        check_inputs(self, inputs, rank=2)
        h_tm1 = states[0] if isinstance(states, (list, tuple)) else states
        input_masks, recurrent_masks = self.step_dropout_masks(
            inputs, h_tm1, training)
        dtype = self.compute_dtype
        input_bias, recurrent_bias = split_bias(
            self.weights_as(self.bias, dtype), self.reset_after)
        h = ops.cell_step(
            inputs, h_tm1,
            self.weights_as(self.kernel, dtype),
            self.weights_as(self.recurrent_kernel, dtype),
            input_bias, recurrent_bias, input_masks, recurrent_masks,
            reset_after=self.reset_after,
            activation=self.activation,
            recurrent_activation=self.recurrent_activation)
        return h, [h] if isinstance(states, (list, tuple)) else h

    def step_dropout_masks(self, inputs, h_tm1, training):
        """Returns the dropout masks in force for this call, Keras's way.

        Masks are drawn once per sequence and cached by the cell (Keras's
        `DropoutRNNCell`); they apply only when training and 0 < rate < 1.

        Args:
            inputs: the step input, used for the input mask's shape.
            h_tm1: the previous state, used for the recurrent mask's shape.
            training: Python or tensor boolean.

        Returns:
            `(input_masks, recurrent_masks)`: each `None`, a tensor, or a list
            of three tensors (Keras's implementation 1).
        """
        input_masks = recurrent_masks = None
        if training and 0.0 < self.dropout < 1.0:
            input_masks = self.get_dropout_mask(inputs)
        if training and 0.0 < self.recurrent_dropout < 1.0:
            recurrent_masks = self.get_recurrent_dropout_mask(h_tm1)
            if not isinstance(recurrent_masks, (list, tuple)):
                recurrent_masks = [recurrent_masks] * 3
        return input_masks, recurrent_masks

    @staticmethod
    def weights_as(variable, dtype):
        """The variable's value as a tensor of `dtype` (for mixed precision)."""
        if variable is None:
            return None
        return kops.cast(tf.convert_to_tensor(variable), dtype)
