"""The GRU's gate arithmetic in TensorFlow ops, in Keras's conventions.

Gate order z, r, h in the kernels; `h_t = z * h_{t-1} + (1 - z) * h'`;
`reset_after` applies the reset gate after the recurrent matmul (the cuDNN
form). Plain functions: the callers compile them (`gru_keras.compile`).
"""

import keras
import tensorflow as tf

_TANHS = (tf.tanh, tf.math.tanh, tf.nn.tanh, keras.activations.tanh,
          keras.ops.tanh)
_SIGMOIDS = (tf.sigmoid, tf.math.sigmoid, tf.nn.sigmoid,
             keras.activations.sigmoid, keras.ops.sigmoid)


def is_tanh(fn):
    """Whether the activation `fn` is one of the spellings of tanh."""
    return any(fn is f for f in _TANHS)


def is_sigmoid(fn):
    """Whether the activation `fn` is one of the spellings of sigmoid."""
    return any(fn is f for f in _SIGMOIDS)


def _split_gates(x):
    return tf.split(x, 3, axis=-1)


def _recurrent_projection(h_z, h_r, h_h, recurrent_kernel, recurrent_bias, units,
                          reset_after, shared):
    """Returns (rz, rr, rh) where rh is the full candidate term's recurrent part.

    For reset_after=False, rh is None: it needs r first (see `gate_step`).
    """
    if shared:
        if reset_after:
            inner = tf.matmul(h_z, recurrent_kernel)
            if recurrent_bias is not None:
                # BiasAdd, as tf.keras 2 wrote it: tf2onnx's GRU pattern.
                inner = tf.nn.bias_add(inner, recurrent_bias)
            return _split_gates(inner)
        inner = tf.matmul(h_z, recurrent_kernel[:, : 2 * units])
        rz, rr = tf.split(inner, 2, axis=-1)
        return rz, rr, None
    u_z, u_r, u_h = _split_gates(recurrent_kernel)
    rz = tf.matmul(h_z, u_z)
    rr = tf.matmul(h_r, u_r)
    rh = tf.matmul(h_h, u_h) if reset_after else None
    if recurrent_bias is not None:
        b_z, b_r, b_h = _split_gates(recurrent_bias)
        rz, rr = rz + b_z, rr + b_r
        rh = rh + b_h if rh is not None else None
    return rz, rr, rh


def gate_step(x_proj, h, recurrent_kernel, recurrent_bias, recurrent_masks,
              reset_after, activation, recurrent_activation):
    """One GRU step from the already projected input.

    Args:
        x_proj: `(batch, 3 * units)`, the input times `kernel` plus the input
            bias (gate order z, r, h).
        h: `(batch, units)`, the previous state.
        recurrent_kernel: `(units, 3 * units)`.
        recurrent_bias: `(3 * units,)` or `None` (only with `reset_after`).
        recurrent_masks: `None`, or three `(batch, units)` dropout masks, one
            per gate, applied to `h` before its matmuls (Keras's
            implementation 1).
        reset_after: apply the reset gate after the recurrent matmul.
        activation: candidate activation (tanh by default).
        recurrent_activation: gate activation (sigmoid by default).

    Returns:
        The new state, `(batch, units)`.
    """
    units = h.shape[-1] if h.shape[-1] is not None else tf.shape(h)[-1]
    x_z, x_r, x_h = _split_gates(x_proj)
    if recurrent_masks is None:
        h_z = h_r = h_h = h
    else:
        h_z, h_r, h_h = (h * m for m in recurrent_masks)
    rz, rr, rh = _recurrent_projection(
        h_z, h_r, h_h, recurrent_kernel, recurrent_bias, units, reset_after,
        shared=recurrent_masks is None)
    z = recurrent_activation(x_z + rz)
    r = recurrent_activation(x_r + rr)
    if reset_after:
        candidate = activation(x_h + r * rh)
    else:
        candidate = activation(
            x_h + tf.matmul(r * h_h, recurrent_kernel[:, 2 * units:]))
    return z * h + (1.0 - z) * candidate


def project_inputs(x, kernel, input_bias, input_masks):
    """Projects inputs of any leading shape onto the three gates.

    Args:
        x: `(..., input_dim)`.
        kernel: `(input_dim, 3 * units)`.
        input_bias: `(3 * units,)` or `None`.
        input_masks: `None`, one mask broadcastable to `x` (Keras's
            implementation 2), or a list of three (implementation 1, one per
            gate).

    Returns:
        `(..., 3 * units)`.
    """
    if isinstance(input_masks, (list, tuple)):
        k_z, k_r, k_h = _split_gates(kernel)
        proj = tf.concat([_matmul_last(x * m, k)
                          for m, k in zip(input_masks, (k_z, k_r, k_h))], -1)
    else:
        if input_masks is not None:
            x = x * input_masks
        proj = _matmul_last(x, kernel)
    if input_bias is not None and x.shape.rank == 2:
        # A step's BiasAdd, as tf.keras 2 wrote it: tf2onnx's GRU pattern.
        proj = tf.nn.bias_add(proj, input_bias)
    elif input_bias is not None:
        # The whole sequence's (outside XLA): AddV2 measured as fast or
        # faster than BiasAdd on CPU.
        proj = proj + input_bias
    return proj


def _matmul_last(x, kernel):
    if x.shape.rank == 2:
        return tf.matmul(x, kernel)
    flat = tf.reshape(x, [-1, tf.shape(x)[-1]])
    out = tf.matmul(flat, kernel)
    return tf.reshape(out, tf.concat([tf.shape(x)[:-1], tf.shape(kernel)[-1:]], 0))


def project_and_step(x, h, kernel, recurrent_kernel, input_bias,
                     recurrent_bias, input_masks, recurrent_masks, reset_after,
                     activation, recurrent_activation):
    """One step from raw inputs: `project_inputs`, then `gate_step`."""
    x_proj = project_inputs(x, kernel, input_bias, input_masks)
    return gate_step(x_proj, h, recurrent_kernel, recurrent_bias,
                     recurrent_masks, reset_after, activation,
                     recurrent_activation)
