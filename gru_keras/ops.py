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
                recurrent_masks, config, xla):
    """States after every step, with a compiled forward and backward pass."""
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


def _unwatched(*tensors):
    return [None if t is None else tf.stop_gradient(t) for t in tensors]


_COMPILED = {}


def _compiled(fn, xla):
    key = (fn, xla)
    if key not in _COMPILED:
        _COMPILED[key] = tf.function(fn, jit_compile=xla, reduce_retracing=True)
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
                         _xla_wins(_static(x, 0), _static(h0, -1)))
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
