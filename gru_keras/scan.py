"""The general compiled scan: any activations, recurrent dropout masks.

The backward pass recomputes and differentiates each step on its own, so the
compiled loops exchange only plain tensors with the rest of the graph.
"""

import tensorflow as tf

from gru_keras.compile import compiled, unwatched, xla_wins
from gru_keras.gates import gate_step


def _masked_step(x_proj_t, h, recurrent_kernel, recurrent_bias, mask_t,
                 recurrent_masks, reset_after, activation, recurrent_activation):
    h_new = gate_step(x_proj_t, h, recurrent_kernel, recurrent_bias,
                      recurrent_masks, reset_after, activation,
                      recurrent_activation)
    # A masked step keeps the previous state (Keras's backend.rnn).
    return h_new if mask_t is None else tf.where(mask_t, h_new, h)


def _scan_forward(x_proj, h0, recurrent_kernel, recurrent_bias, mask_tm,
                  recurrent_masks, reset_after, activation,
                  recurrent_activation):
    """Time-major states `(time, batch, units)` after every step."""
    steps = tf.shape(x_proj)[0]
    states = tf.TensorArray(h0.dtype, size=steps, element_shape=h0.shape)

    def body(t, h, states):
        h = _masked_step(x_proj[t], h, recurrent_kernel, recurrent_bias,
                         None if mask_tm is None else mask_tm[t],
                         recurrent_masks, reset_after, activation,
                         recurrent_activation)
        return t + 1, h, states.write(t, h)

    _, _, states = tf.while_loop(lambda t, *_: t < steps, body,
                                 (tf.constant(0), h0, states),
                                 maximum_iterations=steps)
    return states.stack()


def _scan_backward(d_states, x_proj, h0, states, recurrent_kernel,
                   recurrent_bias, mask_tm, recurrent_masks, reset_after,
                   activation, recurrent_activation):
    """Backpropagation through time for `_scan_forward`.

    Each step is recomputed from the saved states and differentiated on its
    own, so the compiled loop keeps only plain tensors (XLA cannot return the
    TensorLists TensorFlow's own while-loop gradient would need), and any
    activation functions work.
    """
    steps = tf.shape(x_proj)[0]
    prev_states = tf.concat([h0[None], states[:-1]], 0)
    d_x_proj = tf.TensorArray(x_proj.dtype, size=steps,
                              element_shape=x_proj.shape[1:])
    has_bias = recurrent_bias is not None

    def body(i, d_h, d_kernel, d_bias, d_x_proj):
        t = steps - 1 - i
        x_t, h_prev = x_proj[t], prev_states[t]
        # Local copies, so the gradients are taken inside this loop body.
        kernel = tf.identity(recurrent_kernel)
        bias = tf.identity(recurrent_bias) if has_bias else None
        h_t = _masked_step(x_t, h_prev, kernel, bias,
                           None if mask_tm is None else mask_tm[t],
                           recurrent_masks, reset_after, activation,
                           recurrent_activation)
        wrt = [x_t, h_prev, kernel] + ([bias] if has_bias else [])
        grads = tf.gradients(h_t, wrt, grad_ys=d_h + d_states[t])
        d_bias = d_bias + grads[3] if has_bias else d_bias
        return (i + 1, grads[1], d_kernel + grads[2], d_bias,
                d_x_proj.write(t, grads[0]))

    zeros_bias = (tf.zeros_like(recurrent_bias) if has_bias
                  else tf.zeros([], x_proj.dtype))
    _, d_h0, d_kernel, d_bias, d_x_proj = tf.while_loop(
        lambda i, *_: i < steps, body,
        (tf.constant(0), tf.zeros_like(h0), tf.zeros_like(recurrent_kernel),
         zeros_bias, d_x_proj),
        maximum_iterations=steps)
    grads = [d_x_proj.stack(), d_h0, d_kernel]
    return grads + [d_bias] if has_bias else grads


def recurrence(x_proj, h0, recurrent_kernel, recurrent_bias, mask_tm,
                recurrent_masks, config, batch, units):
    """States after every step, with a compiled forward and backward pass."""
    xla = xla_wins(batch, units)
    forward = compiled(_scan_forward, xla)
    backward = compiled(_scan_backward, xla)
    has_bias = recurrent_bias is not None

    @tf.custom_gradient
    def run(x_proj, h0, recurrent_kernel, *maybe_bias):
        bias = maybe_bias[0] if has_bias else None
        states = forward(*unwatched(x_proj, h0, recurrent_kernel, bias),
                         mask_tm, recurrent_masks, *config)

        def grad(d_states):
            return backward(d_states, x_proj, h0, states, recurrent_kernel,
                            bias, mask_tm, recurrent_masks, *config)
        return states, grad

    return run(x_proj, h0, recurrent_kernel,
               *([recurrent_bias] if has_bias else []))
