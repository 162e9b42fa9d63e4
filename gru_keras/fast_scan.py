"""The fast compiled scan for the default activations (tanh, sigmoid).

Without recurrent dropout, the forward pass saves the gate activations and the
backward pass is written out analytically: each backward step is one matmul
plus a few elementwise ops, and the kernel and bias gradients are single
matmuls over all steps after the loop.
"""

import tensorflow as tf
from tensorflow.python.eager import record

from gru_keras.compile import UNROLL_MAX_STEPS, compiled, unwatched
from gru_keras.gates import is_sigmoid, is_tanh


def supports(recurrent_bias, recurrent_masks, reset_after, activation,
             recurrent_activation):
    return (recurrent_masks is None
            and (reset_after or recurrent_bias is None)
            and is_tanh(activation) and is_sigmoid(recurrent_activation))


def _units(recurrent_kernel):
    units = recurrent_kernel.shape[0]
    return units if units is not None else tf.shape(recurrent_kernel)[0]


def _static_steps(x):
    steps = x.shape[0]
    return steps if steps is not None and steps <= UNROLL_MAX_STEPS else None


def _fast_step(x_t, h, kernel_zr, kernel_h, kernel, bias, mask_t,
               reset_after, units):
    """One step; returns the new state and what the backward pass needs."""
    if isinstance(x_t, tuple):
        x_zr, x_h = x_t
    else:
        x_zr, x_h = tf.split(x_t, [2 * units, units], axis=-1)
    if reset_after:
        inner = tf.matmul(h, kernel)
        if bias is not None:
            inner = tf.nn.bias_add(inner, bias)
        inner_zr, inner_h = tf.split(inner, [2 * units, units], axis=-1)
        zr = tf.sigmoid(x_zr + inner_zr)
        z, r = tf.split(zr, 2, axis=-1)
        hh = tf.tanh(x_h + r * inner_h)
        saved = (zr, hh, inner_h)
    else:
        zr = tf.sigmoid(x_zr + tf.matmul(h, kernel_zr))
        z, r = tf.split(zr, 2, axis=-1)
        hh = tf.tanh(x_h + tf.matmul(r * h, kernel_h))
        saved = (zr, hh)
    h_new = z * h + (1.0 - z) * hh
    if mask_t is not None:
        h_new = tf.where(mask_t, h_new, h)
    return h_new, saved


def _fast_forward(x_proj, h0, recurrent_kernel, recurrent_bias, mask_tm,
                  reset_after, save):
    """Returns `(states, saved)`, all time-major (`saved` empty unless
    `save`)."""
    units = _units(recurrent_kernel)
    kernel_zr = recurrent_kernel[:, : 2 * units]
    kernel_h = recurrent_kernel[:, 2 * units:]
    steps = _static_steps(x_proj)
    if steps is not None:
        h = h0
        xs = tf.unstack(x_proj, steps)
        ms = [None] * steps if mask_tm is None else tf.unstack(mask_tm, steps)
        states, saved = [], []
        for t in range(steps):
            h, s = _fast_step(xs[t], h, kernel_zr, kernel_h,
                              recurrent_kernel, recurrent_bias, ms[t],
                              reset_after, units)
            states.append(h)
            saved.append(s)
        if not save:
            return tf.stack(states), ()
        return tf.stack(states), tuple(tf.stack(s) for s in zip(*saved))
    n_saved = (3 if reset_after else 2) if save else 0
    # Split once outside the loop: faster under XLA than per step.
    x_zr, x_h = tf.split(x_proj, [2 * units, units], axis=-1)
    steps = tf.shape(x_proj)[0]
    arrays = [tf.TensorArray(h0.dtype, size=steps, element_shape=h0.shape)]
    arrays += [tf.TensorArray(h0.dtype, size=steps) for _ in range(n_saved)]

    def body(t, h, arrays):
        h, s = _fast_step((x_zr[t], x_h[t]), h, kernel_zr, kernel_h,
                          recurrent_kernel, recurrent_bias,
                          None if mask_tm is None else mask_tm[t],
                          reset_after, units)
        return t + 1, h, [a.write(t, v)
                          for a, v in zip(arrays, ((h,) + s)[:len(arrays)])]

    _, _, arrays = tf.while_loop(lambda t, *_: t < steps, body,
                                 (tf.constant(0), h0, arrays),
                                 maximum_iterations=steps)
    out = [a.stack() for a in arrays]
    return out[0], tuple(out[1:])


def _reverse_scan(step, carry, sequences):
    """Runs `carry, out = step(carry, *slices)` over time backwards.

    Returns the final carry and the time-major stacked `out`s (in time order).
    """
    steps = tf.shape(sequences[0])[0]
    carry_shape = carry.shape
    probe = step(carry, *(s[0] for s in sequences))[1]
    arrays = [tf.TensorArray(o.dtype, size=steps, element_shape=o.shape)
              for o in probe]

    def body(i, carry, arrays):
        t = steps - 1 - i
        carry, outs = step(carry, *(s[t] for s in sequences))
        carry.set_shape(carry_shape)
        return i + 1, carry, [a.write(t, o) for a, o in zip(arrays, outs)]

    _, carry, arrays = tf.while_loop(lambda i, *_: i < steps, body,
                                     (tf.constant(0), carry, arrays),
                                     maximum_iterations=steps)
    return carry, [a.stack() for a in arrays]


def _fast_backward(d_states, h0, states, saved, recurrent_kernel,
                   recurrent_bias, mask_tm, reset_after):
    """Gradients of `_fast_forward`'s states: `[d_x_proj, d_h0, d_kernel]`
    (plus `d_bias` with a recurrent bias)."""
    units = _units(recurrent_kernel)
    prev = tf.concat([h0[None], states[:-1]], 0)
    zr, hh = saved[0], saved[1]
    z, r = tf.split(zr, 2, axis=-1)
    one = tf.ones([], zr.dtype)
    # dL/d(candidate pre-activation) and dL/d(z pre-activation), per unit of
    # dL/dh_t; with a mask, masked steps pass dL/dh_t straight through.
    c_h = (one - z) * (one - hh * hh)
    c_z = (prev - hh) * z * (one - z)
    keep = z
    if mask_tm is not None:
        zeros = tf.zeros_like(c_h)
        c_h = tf.where(mask_tm, c_h, zeros)
        c_z = tf.where(mask_tm, c_z, zeros)
        keep = tf.where(mask_tm, z, tf.ones_like(z))
    kernel_t = tf.transpose(recurrent_kernel)
    flat_prev = tf.reshape(prev, [-1, units])
    if reset_after:
        inner_h = saved[2]
        c_r = c_h * inner_h * r * (one - r)
        # dL/d(h U + b) = dh * c_inner (gate-wise); dL/dx_proj = dh * c_x.
        c_inner = tf.concat([c_z, c_r, c_h * r], -1)

        def step(carry, d_s, c_in, keep_t):
            d_h = carry + d_s
            d_inner = tf.concat([d_h, d_h, d_h], -1) * c_in
            return d_h * keep_t + tf.matmul(d_inner, kernel_t), (d_h,)

        d_h0, (d_h,) = _reverse_scan(step, tf.zeros_like(h0),
                                     [d_states, c_inner, keep])
        d_h3 = tf.concat([d_h, d_h, d_h], -1)
        d_inner = d_h3 * c_inner
        d_x = d_h3 * tf.concat([c_z, c_r, c_h], -1)
        d_kernel = tf.matmul(flat_prev, tf.reshape(d_inner, [-1, 3 * units]),
                             transpose_a=True)
        grads = [d_x, d_h0, d_kernel]
        if recurrent_bias is not None:
            grads.append(tf.reduce_sum(d_inner, [0, 1]))
        return grads
    c_rr = prev * r * (one - r)
    kernel_zr_t, kernel_h_t = tf.split(kernel_t, [2 * units, units], 0)

    def step(carry, d_s, c_h_t, c_z_t, c_rr_t, keep_t, r_t):
        d_h = carry + d_s
        d_rh = tf.matmul(d_h * c_h_t, kernel_h_t)
        d_zr = tf.concat([d_h * c_z_t, d_rh * c_rr_t], -1)
        return (d_h * keep_t + d_rh * r_t + tf.matmul(d_zr, kernel_zr_t),
                (d_h, d_zr))

    d_h0, (d_h, d_zr) = _reverse_scan(step, tf.zeros_like(h0),
                                      [d_states, c_h, c_z, c_rr, keep, r])
    d_cand = d_h * c_h
    d_x = tf.concat([d_zr, d_cand], -1)
    d_kernel_zr = tf.matmul(flat_prev, tf.reshape(d_zr, [-1, 2 * units]),
                            transpose_a=True)
    d_kernel_h = tf.matmul(tf.reshape(r * prev, [-1, units]),
                           tf.reshape(d_cand, [-1, units]), transpose_a=True)
    return [d_x, d_h0, tf.concat([d_kernel_zr, d_kernel_h], -1)]


def recurrence(x_proj, h0, recurrent_kernel, recurrent_bias, mask_tm,
                     reset_after, forward_xla, backward_xla):
    # Exact shapes (no reduce_retracing): the forward loop is unrolled only
    # where the number of steps is static.
    forward = compiled(_fast_forward, forward_xla, exact=True)
    backward = compiled(_fast_backward, backward_xla, exact=True)
    has_bias = recurrent_bias is not None

    # Saving the gates costs memory traffic: only when a tape will need them
    # (otherwise a gradient, e.g. from tf.gradients, recomputes them).
    save = record.should_record_backprop(
        [t for t in (x_proj, h0, recurrent_kernel, recurrent_bias)
         if t is not None])

    @tf.custom_gradient
    def run(x_proj, h0, recurrent_kernel, *maybe_bias):
        bias = maybe_bias[0] if has_bias else None
        args = unwatched(x_proj, h0, recurrent_kernel, bias)
        states, saved = forward(*args, mask_tm, reset_after, save)

        def grad(d_states):
            nonlocal saved
            if not save:
                _, saved = forward(*args, mask_tm, reset_after, True)
            return backward(d_states, h0, states, saved, recurrent_kernel,
                            bias, mask_tm, reset_after)
        return states, grad

    return run(x_proj, h0, recurrent_kernel,
               *([recurrent_bias] if has_bias else []))
