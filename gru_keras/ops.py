"""The compiled GRU computations: one step, and a whole sequence.

This is the entry point of the layer and the cell: `sequence` projects the
inputs of every step in one matmul, then runs the recurrence through
`gru_keras.fast_scan` (default activations, analytic backward pass) or
`gru_keras.scan` (anything else), and applies Keras's masking rules.

Both follow Keras's conventions exactly (gate order z, r, h in the kernels;
``h_t = z * h_{t-1} + (1 - z) * h'``; ``reset_after`` selects where the reset
gate is applied), so the weights of `keras.layers.GRU` can be used unchanged.

The functions here know nothing of Keras layers: they take tensors and return
tensors, and are wrapped in `tf.function` so that TensorFlow runs each step as
one graph (with XLA, `jit_compile`, where that is faster; see `use_xla`).
"""

import tensorflow as tf

from gru_keras import fast_scan, scan
from gru_keras.compile import compiled, fast_xla, tracing_portable, xla_wins
from gru_keras.gates import project_and_step, project_inputs


def _static(x, axis):
    return x.shape[axis]


def cell_step(x, h, kernel, recurrent_kernel, input_bias=None,
              recurrent_bias=None, input_masks=None, recurrent_masks=None, *,
              reset_after=True, activation=tf.tanh,
              recurrent_activation=tf.sigmoid):
    """One GRU step on raw inputs, compiled.

    Args:
        x: `(batch, input_dim)` inputs.
        h: `(batch, units)` previous state.
        kernel, recurrent_kernel: Keras's `(input_dim, 3u)` and `(u, 3u)`.
        input_bias, recurrent_bias: `(3u,)` each, or `None`.
        input_masks: see `project_inputs`.
        recurrent_masks: see `gate_step`.
        reset_after, activation, recurrent_activation: as in Keras's cell.

    Returns:
        The new state, `(batch, units)`.
    """
    if tracing_portable():
        fn = project_and_step  # plain ops for a converter (gru_keras.portable)
    else:
        fn = compiled(project_and_step, xla_wins(_static(x, 0), _static(h, -1)))
    return fn(x, h, kernel, recurrent_kernel, input_bias, recurrent_bias,
              input_masks, recurrent_masks, reset_after, activation,
              recurrent_activation)


def sequence(x, h0, kernel, recurrent_kernel, input_bias=None,
             recurrent_bias=None, mask=None, input_masks=None,
             recurrent_masks=None, *, reset_after=True, activation=tf.tanh,
             recurrent_activation=tf.sigmoid, go_backwards=False,
             return_sequences=True, zero_output_for_mask=False):
    """Runs a GRU over a whole batch-major sequence, compiled.

    Masked steps keep the previous state; their output is the previous output
    (or zeros with `zero_output_for_mask`), exactly as Keras's `backend.rnn`.

    Args:
        x: `(batch, time, input_dim)`.
        h0: `(batch, units)` initial state. Its dtype is the recurrence's
            (state, recurrent matmul, gates), which may be wider than `x`'s;
            `recurrent_kernel` and `recurrent_bias` must have it too.
        kernel, recurrent_kernel, input_bias, recurrent_bias: see `cell_step`.
        mask: `None` or a boolean `(batch, time)`.
        input_masks: dropout masks for the inputs, `(batch, input_dim)` or a
            list of three (fixed over time).
        recurrent_masks: `None` or three `(batch, units)` masks.
        reset_after, activation, recurrent_activation: as in Keras's cell.
        go_backwards: process the sequence in reverse; the returned sequence
            is in processing order, as Keras returns it.
        return_sequences: whether to return every step's output.
        zero_output_for_mask: outputs of masked steps are zeros.

    Returns:
        `(last_output, outputs, last_state)`: `(batch, units)`,
        `(batch, time or 1, units)` and `(batch, units)`, in `x`'s dtype.
    """
    x_tm, mask_tm = time_major(x, mask, go_backwards)
    if isinstance(input_masks, (list, tuple)):
        input_masks = [m[None] for m in input_masks]
    elif input_masks is not None:
        input_masks = input_masks[None]
    # One matmul projects every time step at once, then the compiled loop
    # does only the recurrent matmul and the gating.
    x_proj = project_inputs(x_tm, kernel, input_bias, input_masks)
    # The recurrence runs in h0's dtype, which may be wider than x's: under
    # mixed precision the layer keeps the state in float32 (see `GRU`).
    x_proj = tf.cast(x_proj, h0.dtype)
    if recurrent_masks is not None:
        recurrent_masks = [tf.cast(m, h0.dtype) for m in recurrent_masks]
    batch, units = _static(x, 0), _static(h0, -1)
    if fast_scan.supports(recurrent_bias, recurrent_masks, reset_after,
                          activation, recurrent_activation):
        states = fast_scan.recurrence(
            x_proj, h0, recurrent_kernel, recurrent_bias, mask_tm, reset_after,
            *fast_xla(batch, units, x_proj.shape[0]))
    else:
        states = scan.recurrence(
            x_proj, h0, recurrent_kernel, recurrent_bias, mask_tm,
            recurrent_masks, (reset_after, activation, recurrent_activation),
            batch, units)
    return sequence_outputs(states, mask_tm, x.dtype, return_sequences,
                            zero_output_for_mask)


def time_major(x, mask, go_backwards):
    """`x` `(time, batch, features)` and `mask` `(time, batch, 1)` (or
    `None`), in processing order."""
    x_tm = tf.transpose(x, [1, 0, 2])
    mask_tm = None if mask is None else tf.transpose(mask)[:, :, None]
    if go_backwards:
        x_tm = tf.reverse(x_tm, [0])
        mask_tm = None if mask is None else tf.reverse(mask_tm, [0])
    return x_tm, mask_tm


def sequence_outputs(states, mask_tm, dtype, return_sequences,
                     zero_output_for_mask):
    """`sequence`'s results from the time-major states after every step,
    with Keras's masking rules.

    Args:
        states: `(time, batch, units)`; a masked step kept the state.
        mask_tm: `None` or a boolean `(time, batch, 1)`.
        dtype: the outputs' dtype.
        return_sequences, zero_output_for_mask: as in `sequence`.

    Returns:
        `(last_output, outputs, last_state)`, as `sequence`.
    """
    outputs = states
    if mask_tm is not None:
        # A masked step outputs zeros (zero_output_for_mask) or repeats the
        # previous output, which is the state unless no step was valid yet.
        valid = mask_tm if zero_output_for_mask else tf.cast(
            tf.cumsum(tf.cast(mask_tm, tf.int32), axis=0), tf.bool)
        outputs = tf.where(valid, states, tf.zeros_like(states))
    outputs = tf.cast(outputs, dtype)
    last_output = outputs[-1]
    if return_sequences:
        sequence = tf.transpose(outputs, [1, 0, 2])
    else:
        sequence = last_output[:, None]
    return last_output, sequence, tf.cast(states[-1], dtype)
