"""When and how the GRU computations are compiled (`tf.function`, XLA), and
when they are not: the portable graph traced for converters."""

import contextlib
import os
import sys
import threading

import tensorflow as tf

# XLA policy, per thread: True, False or "auto" (decided per call by
# `xla_wins` and `fast_xla`); outside `use_xla`, `XLA_ENV`'s or "auto".
_XLA = threading.local()
# The environment variable that sets the policy of a whole process (and of
# the processes it starts): "auto", "1"/"true"/"on" or "0"/"false"/"off".
XLA_ENV = "GRU_KERAS_XLA"
_ENV_POLICIES = {"auto": "auto", "1": True, "true": True, "on": True,
                 "0": False, "false": False, "off": False}
# Portable-graph policy, per thread: True, False or "auto".
_PORTABLE = threading.local()

# Modules whose code traces a model for conversion or export (Keras's
# `model.export` and `ExportArchive`, which `TFLiteConverter.from_keras_model`
# uses; the TFLite converter; tf2onnx). Looked for on the Python stack only
# while a graph is traced, never when it runs.
CONVERTER_MODULES = ("keras.src.export", "tensorflow.lite.python", "tf2onnx")


def use_xla(enabled):
    """Context manager that forces XLA on (`True`), off (`False`) or `"auto"`.

    "auto" (the default) compiles with XLA where it measured faster on the
    device in use. On CPU: always for the forward pass of the default
    activations over up to 128 steps (unrolled, XLA fuses the gating and
    schedules the whole sequence), and otherwise while the recurrent matmul
    is small enough that XLA's saving on per-step overhead outweighs
    TensorFlow's faster oneDNN matmul (see `xla_wins`, `fast_xla`). On GPU,
    XLA is always used (when Keras's cuDNN kernel does not apply).

    Outside the block, the policy is that of the `GRU_KERAS_XLA` environment
    variable ("auto", "1"/"on" or "0"/"off"; unset: "auto"): e.g. `0` for a
    process whose models see few steps of each input shape, where XLA's
    compilation per shape would cost more than it saves.

    Args:
        enabled: `True`, `False` or `"auto"`.

    Returns:
        A context manager; the policy holds for calls made (traced) inside
        the block.

    Raises:
        ValueError: on entering, if `enabled` is none of these.
    """
    return _policy_scope(_XLA, "use_xla", enabled)


@contextlib.contextmanager
def _policy_scope(local, name, enabled):
    if enabled not in (True, False, "auto"):
        raise ValueError(f"{name} expects True, False or 'auto', got {enabled!r}.")
    previous = getattr(local, "policy", None)
    local.policy = enabled
    try:
        yield
    finally:
        if previous is None:
            del local.policy
        else:
            local.policy = previous


def xla_policy():
    """The XLA policy in force on this thread: `True`, `False` or `"auto"`.

    Code outside the GRU that compiles its own steps (a model's attention)
    follows the same switch, so that `use_xla(False)` (an export for TF
    Serving) turns XLA off everywhere.
    """
    policy = getattr(_XLA, "policy", None)
    return _env_policy() if policy is None else policy


def _env_policy():
    """The policy `XLA_ENV` sets ("auto" when unset)."""
    value = os.environ.get(XLA_ENV, "auto")
    try:
        return _ENV_POLICIES[value.strip().lower()]
    except KeyError:
        raise ValueError(f"{XLA_ENV}={value!r}: expected one of "
                         f"{', '.join(_ENV_POLICIES)}.") from None


# Above this many multiply-adds per recurrent step (batch 4 at 256 units),
# TensorFlow's oneDNN matmul beats XLA's CPU dot by more than XLA saves on
# loop overhead. Measured on a 2-core x86-64 machine (benchmarks/gru_layer.py).
_CPU_XLA_MAX_STEP_MACS = 4 * 256 * 3 * 256


def xla_wins(batch, units):
    """Whether to compile the general scan and the cell step with XLA."""
    policy = xla_policy()
    if policy != "auto":
        return policy
    if tf.config.list_logical_devices("GPU"):
        return True
    if batch is None:
        return True
    return batch * units * 3 * units <= _CPU_XLA_MAX_STEP_MACS


# Measured on a 2-core x86-64 CPU (benchmarks/gru_layer.py): the forward loop
# is unrolled in Python when the number of steps is static and at most this
# many (XLA then schedules the whole sequence at once, about 1.5x faster than
# its while loop; the price is a longer first compilation per shape). The
# backward loop stays a while loop: unrolled, it was 1.1-1.7x slower.
UNROLL_MAX_STEPS = 128

# The analytic fast path (`fast_scan.recurrence`) measured differently: XLA's
# unrolled forward pass beat TensorFlow's at every size up to batch 256 and
# 1024 units (it fuses the gating and schedules the whole sequence), and its
# backward while loop up to at least batch 64 at 512 units; at batch 256 and
# 1024 units TensorFlow's backward pass was 7% faster.
_CPU_XLA_BACKWARD_MAX_STEP_MACS = 4 * 64 * 512 * 3 * 512


def fast_xla(batch, units, steps):
    """`(forward, backward)` XLA choices for the analytic fast path."""
    policy = xla_policy()
    if policy != "auto":
        return policy, policy
    if tf.config.list_logical_devices("GPU") or batch is None or units is None:
        return True, True
    # XLA's forward *while loop* did not share the unrolled loop's gains.
    unrolled = steps is not None and steps <= UNROLL_MAX_STEPS
    return (unrolled or xla_wins(batch, units),
            batch * units * 3 * units <= _CPU_XLA_BACKWARD_MAX_STEP_MACS)


def portable(enabled=True):
    """Context manager: trace the portable graph (`True`), the fast one
    (`False`), or choose automatically (`"auto"`, the default).

    The portable graph (`gru_keras.portable_graph`) is one while loop of
    plain TensorFlow ops (no XLA marks, no cuDNN kernel on a GPU), in the
    form `tf.keras` 2's GRU had, which the LiteRT (TFLite) converter turns
    into builtin ops and tf2onnx into an ONNX `GRU` op (or a `Loop`); the
    fast graph has nested XLA-compiled functions neither can read.

    "auto" builds the portable graph while code from one of
    `CONVERTER_MODULES` traces the model (`model.export(...)` in any format,
    `TFLiteConverter.from_keras_model`, `tf2onnx.convert.from_keras`, and
    `from_function` when the function is first traced there), the fast one
    otherwise. Use `portable()` around tracing that happens outside a
    converter, e.g.

        with gru_keras.portable():
            concrete = tf.function(model).get_concrete_function(spec)
        tf.lite.TFLiteConverter.from_concrete_functions([concrete])

    The portable graph computes the same outputs (within float32 rounding)
    and trains (TensorFlow differentiates its loop), but runs slower in
    TensorFlow than the fast path.

    Args:
        enabled: `True`, `False` or `"auto"`.

    Returns:
        A context manager; the choice holds for calls traced inside the
        block.

    Raises:
        ValueError: on entering, if `enabled` is none of these.
    """
    return _policy_scope(_PORTABLE, "portable", enabled)


def portable_policy():
    """The choice in force on this thread: `True`, `False` or `"auto"`."""
    return getattr(_PORTABLE, "policy", "auto")


def _traced_by_converter():
    frame = sys._getframe(1)
    while frame is not None:
        name = frame.f_globals.get("__name__", "")
        if name.startswith(CONVERTER_MODULES):
            return True
        frame = frame.f_back
    return False


# Plain Python about the trace itself: autograph must not convert it (its
# converted copy fails when called, e.g. from translate's decoding loops).
@tf.autograph.experimental.do_not_convert
def tracing_portable():
    """Whether the computation being built now should be the portable graph.

    Returns:
        `True` inside `portable(True)`; under "auto", when a graph (not eager
        code) is being traced from one of `CONVERTER_MODULES`.
    """
    policy = portable_policy()
    if policy != "auto":
        return policy
    return not tf.executing_eagerly() and _traced_by_converter()


_COMPILED = {}


def compiled(fn, xla, exact=False):
    """`fn` as a cached `tf.function`, with or without XLA.

    Args:
        fn: a Python function of tensors (and hashable Python settings).
        xla: `jit_compile`.
        exact: trace every input shape exactly instead of relaxing shapes
            after the second one (unrolling needs a static time dimension).

    Returns:
        The `tf.function`.
    """
    key = (fn, xla, exact)
    if key not in _COMPILED:
        _COMPILED[key] = tf.function(fn, jit_compile=xla,
                                     reduce_retracing=not exact)
    return _COMPILED[key]


def unwatched(*tensors):
    """The tensors cut from any tape: an eager tape must not record a compiled
    loop itself (its own gradient would need TensorLists out of XLA); custom
    gradients take its place."""
    return [None if t is None else tf.stop_gradient(t) for t in tensors]
