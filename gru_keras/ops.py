"""Compiled GRU computations: one gating step and a whole-sequence scan.

Both follow Keras's conventions exactly (gate order z, r, h in the kernels;
``h_t = z * h_{t-1} + (1 - z) * h'``; ``reset_after`` selects where the reset
gate is applied), so the weights of `keras.layers.GRU` can be used unchanged.

The functions here know nothing of Keras layers: they take tensors and return
tensors, and are wrapped in `tf.function` so that TensorFlow runs each step as
one graph (with XLA, `jit_compile`, where that is faster; see `use_xla`).
"""

import contextlib
import threading

import tensorflow as tf
from tensorflow.python.eager import record

# XLA policy: None means "auto" (decided per call by `_xla_wins`).
_XLA = threading.local()


@contextlib.contextmanager
def use_xla(enabled):
    """Context manager that forces XLA on (`True`), off (`False`) or `"auto"`.

    "auto" (the default) compiles with XLA where it measured faster on the
    device in use: on CPU, XLA removes the per-step overhead of the time loop
    and wins clearly for small and medium matrices, while TensorFlow's oneDNN
    matmul wins once the recurrent matmul dominates (see `_xla_wins`). On GPU,
    XLA fuses the gating into few kernels and is always used.

    Args:
        enabled: `True`, `False` or `"auto"`.

    Yields:
        Nothing; the policy holds for calls made (traced) inside the block.
    """
    if enabled not in (True, False, "auto"):
        raise ValueError(f"use_xla expects True, False or 'auto', got {enabled!r}.")
    previous = getattr(_XLA, "policy", "auto")
    _XLA.policy = enabled
    try:
        yield
    finally:
        _XLA.policy = previous


# Above this many multiply-adds per recurrent step (batch 4 at 256 units),
# TensorFlow's oneDNN matmul beats XLA's CPU dot by more than XLA saves on loop overhead.
# Measured on a 2-core x86-64 machine (benchmarks/gru_layer.py).
_CPU_XLA_MAX_STEP_MACS = 4 * 256 * 3 * 256


def _xla_wins(batch, units):
    policy = getattr(_XLA, "policy", "auto")
    if policy != "auto":
        return policy
    if tf.config.list_logical_devices("GPU"):
        return True
    if batch is None:
        return True
    return batch * units * 3 * units <= _CPU_XLA_MAX_STEP_MACS


# The analytic fast path (`_fast_recurrence`) measured differently: XLA's
# unrolled forward pass beat TensorFlow's at every size up to batch 256 and
# 1024 units (it fuses the gating and schedules the whole sequence), and its
# backward while loop up to at least batch 64 at 512 units; at batch 256 and
# 1024 units TensorFlow's backward pass was 7% faster.
_CPU_XLA_BACKWARD_MAX_STEP_MACS = 4 * 64 * 512 * 3 * 512


def _fast_xla(batch, units, steps):
    """`(forward, backward)` XLA choices for the analytic fast path."""
    policy = getattr(_XLA, "policy", "auto")
    if policy != "auto":
        return policy, policy
    if tf.config.list_logical_devices("GPU") or batch is None or units is None:
        return True, True
    # XLA's forward *while loop* did not share the unrolled loop's gains.
    unrolled = steps is not None and steps <= _UNROLL_MAX_STEPS
    return (unrolled or _xla_wins(batch, units),
            batch * units * 3 * units <= _CPU_XLA_BACKWARD_MAX_STEP_MACS)


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
                inner = inner + recurrent_bias
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
    if input_bias is not None:
        proj = proj + input_bias
    return proj


def _matmul_last(x, kernel):
    if x.shape.rank == 2:
        return tf.matmul(x, kernel)
    flat = tf.reshape(x, [-1, tf.shape(x)[-1]])
    out = tf.matmul(flat, kernel)
    return tf.reshape(out, tf.concat([tf.shape(x)[:-1], tf.shape(kernel)[-1:]], 0))


def _cell_step(x, h, kernel, recurrent_kernel, input_bias, recurrent_bias,
               input_masks, recurrent_masks, reset_after, activation,
               recurrent_activation):
    x_proj = project_inputs(x, kernel, input_bias, input_masks)
    return gate_step(x_proj, h, recurrent_kernel, recurrent_bias,
                     recurrent_masks, reset_after, activation,
                     recurrent_activation)


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


def _recurrence(x_proj, h0, recurrent_kernel, recurrent_bias, mask_tm,
                recurrent_masks, config, batch, units):
    """States after every step, with a compiled forward and backward pass."""
    if _fast_ok(recurrent_bias, recurrent_masks, *config):
        return _fast_recurrence(x_proj, h0, recurrent_kernel, recurrent_bias,
                                mask_tm, config[0],
                                *_fast_xla(batch, units, x_proj.shape[0]))
    xla = _xla_wins(batch, units)
    forward = _compiled(_scan_forward, xla)
    backward = _compiled(_scan_backward, xla)
    has_bias = recurrent_bias is not None

    @tf.custom_gradient
    def run(x_proj, h0, recurrent_kernel, *maybe_bias):
        bias = maybe_bias[0] if has_bias else None
        # Unwatched inputs: an eager tape must not record the compiled loop
        # itself (its own gradient would need TensorLists out of XLA).
        states = forward(*_unwatched(x_proj, h0, recurrent_kernel, bias),
                         mask_tm, recurrent_masks, *config)

        def grad(d_states):
            return backward(d_states, x_proj, h0, states, recurrent_kernel,
                            bias, mask_tm, recurrent_masks, *config)
        return states, grad

    return run(x_proj, h0, recurrent_kernel,
               *([recurrent_bias] if has_bias else []))


# ---------------------------------------------------------------------------
# Fast path: default activations (tanh candidate, sigmoid gates) without
# recurrent dropout. The forward pass saves the gate activations; the backward
# pass is written out analytically, so each backward step is one matmul plus a
# few elementwise ops, and the kernel and bias gradients are single matmuls
# over all steps after the loop.

# Measured on a 2-core x86-64 CPU (benchmarks/gru_layer.py): the forward loop
# is unrolled in Python when the number of steps is static and at most this
# many (XLA then schedules the whole sequence at once, about 1.5x faster than
# its while loop; the price is a longer first compilation per shape). The
# backward loop stays a while loop: unrolled, it was 1.1-1.7x slower.
_UNROLL_MAX_STEPS = 128


def _is_default_activations(activation, recurrent_activation):
    import keras  # local: ops must stay importable without building Keras

    tanhs = (tf.tanh, tf.math.tanh, tf.nn.tanh, keras.activations.tanh,
             keras.ops.tanh)
    sigmoids = (tf.sigmoid, tf.math.sigmoid, tf.nn.sigmoid,
                keras.activations.sigmoid, keras.ops.sigmoid)
    return (any(activation is f for f in tanhs)
            and any(recurrent_activation is f for f in sigmoids))


def _fast_ok(recurrent_bias, recurrent_masks, reset_after, activation,
             recurrent_activation):
    return (recurrent_masks is None
            and (reset_after or recurrent_bias is None)
            and _is_default_activations(activation, recurrent_activation))


def _units(recurrent_kernel):
    units = recurrent_kernel.shape[0]
    return units if units is not None else tf.shape(recurrent_kernel)[0]


def _static_steps(x):
    steps = x.shape[0]
    return steps if steps is not None and steps <= _UNROLL_MAX_STEPS else None


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


def _fast_recurrence(x_proj, h0, recurrent_kernel, recurrent_bias, mask_tm,
                     reset_after, forward_xla, backward_xla):
    # Exact shapes (no reduce_retracing): the forward loop is unrolled only
    # where the number of steps is static.
    forward = _compiled(_fast_forward, forward_xla, exact=True)
    backward = _compiled(_fast_backward, backward_xla, exact=True)
    has_bias = recurrent_bias is not None

    # Saving the gates costs memory traffic: only when a tape will need them
    # (otherwise a gradient, e.g. from tf.gradients, recomputes them).
    save = record.should_record_backprop(
        [t for t in (x_proj, h0, recurrent_kernel, recurrent_bias)
         if t is not None])

    @tf.custom_gradient
    def run(x_proj, h0, recurrent_kernel, *maybe_bias):
        bias = maybe_bias[0] if has_bias else None
        args = _unwatched(x_proj, h0, recurrent_kernel, bias)
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


def _unwatched(*tensors):
    return [None if t is None else tf.stop_gradient(t) for t in tensors]


_COMPILED = {}


def _compiled(fn, xla, exact=False):
    key = (fn, xla)
    if key not in _COMPILED:
        _COMPILED[key] = tf.function(fn, jit_compile=xla,
                                     reduce_retracing=not exact)
    return _COMPILED[key]


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
    fn = _compiled(_cell_step, _xla_wins(_static(x, 0), _static(h, -1)))
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
        h0: `(batch, units)` initial state.
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
        `(batch, time or 1, units)` and `(batch, units)`.
    """
    # Time-major from here on: one matmul projects every time step at once,
    # then the compiled loop does only the recurrent matmul and the gating.
    x_tm = tf.transpose(x, [1, 0, 2])
    if isinstance(input_masks, (list, tuple)):
        input_masks = [m[None] for m in input_masks]
    elif input_masks is not None:
        input_masks = input_masks[None]
    x_proj = project_inputs(x_tm, kernel, input_bias, input_masks)
    mask_tm = None if mask is None else tf.transpose(mask)[:, :, None]
    if go_backwards:
        x_proj = tf.reverse(x_proj, [0])
        mask_tm = None if mask is None else tf.reverse(mask_tm, [0])
    config = (reset_after, activation, recurrent_activation)
    states = _recurrence(x_proj, h0, recurrent_kernel, recurrent_bias,
                         mask_tm, recurrent_masks, config,
                         _static(x, 0), _static(h0, -1))
    outputs = states
    if mask_tm is not None:
        # A masked step outputs zeros (zero_output_for_mask) or repeats the
        # previous output, which is the state unless no step was valid yet.
        valid = mask_tm if zero_output_for_mask else tf.cast(
            tf.cumsum(tf.cast(mask_tm, tf.int32), axis=0), tf.bool)
        outputs = tf.where(valid, states, tf.zeros_like(states))
    last_output = outputs[-1]
    if return_sequences:
        sequence = tf.transpose(outputs, [1, 0, 2])
    else:
        sequence = last_output[:, None]
    return last_output, sequence, states[-1]
