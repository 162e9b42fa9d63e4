"""The portable graph: the whole sequence in plain ops that converters read.

The fast path (`gru_keras.ops.sequence`) runs the recurrence in nested,
XLA-compiled `tf.function`s with a custom gradient. TensorFlow runs that
well; converters do not: tf2onnx cannot inline an XLA-marked function call (a
`PartitionedCall` is left in the ONNX graph) and the LiteRT (TFLite)
converter cannot lower its loops to builtin ops. This module builds what
those converters expect instead, and `gru_keras.compile.tracing_portable`
says when (automatically while a converter traces the model, or inside
`gru_keras.portable()`).

The graph is one `tf.while_loop` whose step reads the input from a
TensorList unstacked from the sequence, projects it, runs the gates and
writes the state to a second TensorList: the loop `tf.keras` 2's GRU built.
The TFLite converter lowers it to a builtin `WHILE` (the TensorLists' element
shapes are given at run time, so the batch may be dynamic, which Keras's own
loop does not allow); tf2onnx recognises the step as a GRU cell and emits an
ONNX `GRU` op where the configuration maps to one (`maps_to_onnx_gru`), and
a `Loop` otherwise.
"""

import tensorflow as tf
from tensorflow.python.ops import list_ops

from gru_keras.gates import gate_step, is_sigmoid, project_inputs
from gru_keras.ops import sequence_outputs, time_major


def maps_to_onnx_gru(x, h0, mask, input_masks, recurrent_masks, reset_after,
                     recurrent_activation):
    """Whether tf2onnx turns the loop into an ONNX `GRU` op.

    Its pattern is `tf.keras` 2's step: `reset_after=True`, a sigmoid gate,
    no mask (its sequence lengths come from another pattern), no dropout, one
    dtype. (Its pattern for `reset_after=False`, TF1's `GRUCell`, needs
    Identity ops in the loop body that grappler removes first.)

    Returns:
        A Python bool.
    """
    return (reset_after and mask is None and input_masks is None
            and recurrent_masks is None and x.dtype == h0.dtype
            and is_sigmoid(recurrent_activation))


def sequence(x, h0, kernel, recurrent_kernel, input_bias=None,
             recurrent_bias=None, mask=None, input_masks=None,
             recurrent_masks=None, *, reset_after=True, activation=tf.tanh,
             recurrent_activation=tf.sigmoid, go_backwards=False,
             return_sequences=True, zero_output_for_mask=False):
    """`gru_keras.ops.sequence` as one while loop of plain ops.

    Same arguments and results as `gru_keras.ops.sequence` (the state in
    `h0`'s dtype, the outputs in `x`'s, Keras's masking rules). The weights
    enter the loop as tensors, so a converter that freezes the variables sees
    constants there.

    Returns:
        `(last_output, outputs, last_state)`.
    """
    if maps_to_onnx_gru(x, h0, mask, input_masks, recurrent_masks,
                        reset_after, recurrent_activation) and input_bias is None:
        # tf2onnx's pattern has the BiasAdds; zeros change nothing.
        units = recurrent_kernel.shape[0]
        input_bias = tf.zeros([3 * units], kernel.dtype)
        recurrent_bias = tf.zeros([3 * units], recurrent_kernel.dtype)
    x_tm, mask_tm = time_major(x, mask, go_backwards)
    steps = tf.shape(x_tm)[0]
    input_shape, state_shape = tf.shape(x_tm)[1:], tf.shape(h0)
    inputs = list_ops.tensor_list_from_tensor(x_tm, element_shape=input_shape)
    states = list_ops.tensor_list_reserve(state_shape, steps, h0.dtype)

    def body(t, h, states):
        x_t = list_ops.tensor_list_get_item(inputs, t, x.dtype,
                                            element_shape=input_shape)
        x_t.set_shape(x_tm.shape[1:])
        x_proj = project_inputs(x_t, kernel, input_bias, input_masks)
        h_new = gate_step(tf.cast(x_proj, h0.dtype), h, recurrent_kernel,
                          recurrent_bias, recurrent_masks, reset_after,
                          activation, recurrent_activation)
        if mask_tm is not None:
            # A masked step keeps the previous state (Keras's backend.rnn).
            h_new = tf.where(mask_tm[t], h_new, h)
        return t + 1, h_new, list_ops.tensor_list_set_item(states, t, h_new)

    _, _, states = tf.while_loop(lambda t, *_: t < steps, body,
                                 (tf.constant(0), h0, states),
                                 maximum_iterations=steps)
    states = list_ops.tensor_list_stack(states, h0.dtype,
                                        element_shape=state_shape)
    states.set_shape(x_tm.shape[:1].concatenate(h0.shape))
    return sequence_outputs(states, mask_tm, x.dtype, return_sequences,
                            zero_output_for_mask)
